// Adoption and release of Containers by selector, as the ReplicaSet controller's ClaimPods does: a Service
// controls the Containers whose controller reference names it and whose labels still match its selector; it adopts
// matching Containers that have no controller, and releases (orphans) those it controls that no longer match.
import { matchesLabels, type Container, type ParsedLabelSelector, type Service } from '@berth/api';
import { isNotFound, type ApiClient } from '@berth/controller-runtime';
import { controllerRefFor, controllerRefOf, isControlledBy } from './replicas.js';

import { containers } from '../kinds.js';

export interface Claimed {
  /** The Containers this Service controls after the claim. */
  readonly owned: Container[];
  readonly adopted: string[];
  readonly released: string[];
}

/**
 * Claims `candidates` (the namespace's Containers) for `service`. `canAdopt` is asked once, before the first
 * adoption: the Service must still exist and not be terminating (a GET of the latest, as RecheckDeletionTimestamp).
 */
export async function claimContainers(
  client: ApiClient,
  service: Service,
  selector: ParsedLabelSelector,
  candidates: readonly Container[],
  canAdopt: () => Promise<boolean>,
  signal: AbortSignal,
): Promise<Claimed> {
  const owned: Container[] = [];
  const adopted: string[] = [];
  const released: string[] = [];
  let mayAdopt: boolean | undefined;
  for (const c of candidates) {
    const matches = matchesLabels(selector, c.metadata.labels);
    if (isControlledBy(c, service)) {
      if (matches) {
        owned.push(c);
      } else if (c.metadata.deletionTimestamp === undefined) {
        const refs = (c.metadata.ownerReferences ?? []).filter((r) => r.uid !== service.metadata.uid);
        if (await patchOwners(client, c, refs, signal)) released.push(c.metadata.name ?? '');
      }
      continue;
    }
    if (controllerRefOf(c) !== undefined || !matches || c.metadata.deletionTimestamp !== undefined) continue;
    mayAdopt ??= await canAdopt();
    if (!mayAdopt) continue;
    const refs = [...(c.metadata.ownerReferences ?? []), controllerRefFor(service)];
    const updated = await patchOwners(client, c, refs, signal);
    if (updated !== undefined) {
      owned.push(updated);
      adopted.push(c.metadata.name ?? '');
    }
  }
  return { owned, adopted, released };
}

/** A merge patch of ownerReferences on the copy seen (resourceVersion: a concurrent change is a 409, retried). */
async function patchOwners(
  client: ApiClient,
  c: Container,
  ownerReferences: Container['metadata']['ownerReferences'],
  signal: AbortSignal,
): Promise<Container | undefined> {
  try {
    return (await client.patch(
      containers,
      c.metadata.namespace,
      c.metadata.name ?? '',
      { metadata: { ownerReferences, resourceVersion: c.metadata.resourceVersion } },
      { signal },
    )) as unknown as Container;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}
