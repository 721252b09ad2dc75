// A Service's revision history, one ConfigMap per template it has run (`<service>-<hash>`, labelled
// berth.dev/service and berth.dev/template-hash, annotated berth.dev/revision, the template as JSON in
// data["template.json"], controlled by the Service so the garbage collector takes it with the Service). They play
// the part of a Deployment's old ReplicaSets (or a StatefulSet's ControllerRevisions): where a rollback finds the
// old template once no replica runs it any more.
import type { ContainerTemplate, ObjectMeta, Service } from '@berth/api';
import { resources, isAlreadyExists, isNotFound, type ApiClient, type SharedInformer } from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import { revisionAnnotation, serviceLabel, templateHashLabel } from './labels.js';
import { controllerRefFor } from './replicas.js';

export const { configMaps } = resources;

/** The label selector of the ConfigMap informer: only revisions are cached, not every ConfigMap. */
export const revisionSelector = serviceLabel;

const templateKey = 'template.json';

export interface RevisionMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: ObjectMeta;
  data?: Record<string, string>;
}

export interface Revision {
  readonly hash: string;
  readonly revision: number;
  readonly template: ContainerTemplate | undefined;
  readonly object: RevisionMap;
}

export const revisionName = (service: string, hash: string) => `${service}-${hash}`;

function toRevision(cm: RevisionMap): Revision {
  let template: ContainerTemplate | undefined;
  try {
    template = JSON.parse(cm.data?.[templateKey] ?? '') as ContainerTemplate;
  } catch {
    template = undefined;
  }
  const n = Number(cm.metadata.annotations?.[revisionAnnotation]);
  return {
    hash: cm.metadata.labels?.[templateHashLabel] ?? '',
    revision: Number.isInteger(n) && n > 0 ? n : 0,
    template,
    object: cm,
  };
}

/** The Service's revisions, oldest first (only those it controls: a same-named Service made anew has its own). */
export function listRevisions(cache: SharedInformer<KubernetesObject>, service: Service): Revision[] {
  const ns = service.metadata.namespace;
  return (cache.list(ns) as unknown as RevisionMap[])
    .filter(
      (cm) =>
        cm.metadata.labels?.[serviceLabel] === service.metadata.name &&
        cm.metadata.ownerReferences?.some((r) => r.controller === true && r.uid === service.metadata.uid) === true &&
        cm.metadata.deletionTimestamp === undefined,
    )
    .map(toRevision)
    .sort((a, b) => a.revision - b.revision);
}

/**
 * Makes sure the current template is recorded as the newest revision: created with max+1, or renumbered to max+1
 * when an older revision's template came back (a rollback), as the Deployment controller renumbers a ReplicaSet.
 */
export async function ensureRevision(
  client: ApiClient,
  service: Service,
  revisions: readonly Revision[],
  hash: string,
  signal: AbortSignal,
): Promise<{ revision: number; created: boolean }> {
  const max = revisions.reduce((m, r) => Math.max(m, r.revision), 0);
  const existing = revisions.find((r) => r.hash === hash);
  if (existing !== undefined && existing.revision === max) return { revision: max, created: false };
  const next = max + 1;
  if (existing !== undefined) {
    await client.patch(
      configMaps,
      service.metadata.namespace,
      existing.object.metadata.name ?? '',
      {
        metadata: {
          annotations: { [revisionAnnotation]: String(next) },
          resourceVersion: existing.object.metadata.resourceVersion,
        },
      },
      { signal },
    );
    return { revision: next, created: false };
  }
  const body: RevisionMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: revisionName(service.metadata.name ?? '', hash),
      namespace: service.metadata.namespace ?? '',
      labels: { [serviceLabel]: service.metadata.name ?? '', [templateHashLabel]: hash },
      annotations: { [revisionAnnotation]: String(next) },
      ownerReferences: [controllerRefFor(service)],
    },
    data: { [templateKey]: JSON.stringify(service.spec.template) },
  };
  try {
    await client.create(configMaps, body as unknown as KubernetesObject, signal);
  } catch (err) {
    if (!isAlreadyExists(err)) throw err;
    // The name is taken: by an earlier pass of ours whose cache had not caught up, or by a deleted Service of the
    // same name whose revisions were not collected (only one Service has a name at a time, so its owner is gone).
    // Either way it is ours now, with this number, this template and this owner.
    const found = await client.get<KubernetesObject>(
      configMaps,
      body.metadata.namespace,
      body.metadata.name ?? '',
      signal,
    );
    await client.patch(
      configMaps,
      body.metadata.namespace,
      body.metadata.name ?? '',
      {
        metadata: {
          annotations: body.metadata.annotations,
          labels: body.metadata.labels,
          ownerReferences: body.metadata.ownerReferences,
          resourceVersion: found.metadata?.resourceVersion,
        },
        data: body.data,
      },
      { signal },
    );
  }
  return { revision: next, created: true };
}

/** Deletes the oldest revisions no replica runs beyond `limit` (revisionHistoryLimit); returns their numbers. */
export async function pruneRevisions(
  client: ApiClient,
  revisions: readonly Revision[],
  inUse: ReadonlySet<string>,
  currentHash: string,
  limit: number,
  signal: AbortSignal,
): Promise<number[]> {
  const unused = revisions.filter((r) => r.hash !== currentHash && !inUse.has(r.hash));
  const doomed = unused.slice(0, Math.max(0, unused.length - limit));
  for (const r of doomed) {
    try {
      await client.delete(configMaps, r.object.metadata.namespace, r.object.metadata.name ?? '', {
        ...(r.object.metadata.uid !== undefined ? { preconditionUid: r.object.metadata.uid } : {}),
        signal,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return doomed.map((r) => r.revision);
}
