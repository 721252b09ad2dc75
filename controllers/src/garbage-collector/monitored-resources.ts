// The kinds the garbage collector watches, as Kubernetes' GetDeletableResources picks them: every served kind
// (each group's preferred version) that can be listed, watched and deleted, but Events, which never own anything
// and are the busiest kind there is (Kubernetes' default ignored resources).
import type { ApiClient, Resource } from '@berth/controller-runtime';
import { discoverServedResources } from '../discovery/served-resources.js';

// Pods are a view of Containers, which are watched themselves (same uids: one graph node each, not two).
const ignored = new Set(['/events', 'events.k8s.io/events', '/pods']);

export interface Monitored {
  readonly resources: Resource[];
  /** Group versions discovery could not read, with why (watched from a later resync). */
  readonly failed: ReadonlyMap<string, string>;
}

export async function monitoredResources(client: ApiClient, signal: AbortSignal): Promise<Monitored> {
  const { resources, failed } = await discoverServedResources(client, signal);
  const out: Resource[] = [];
  for (const { verbs, ...r } of resources) {
    if (ignored.has(`${r.group}/${r.plural}`)) continue;
    if (verbs.has('list') && verbs.has('watch') && verbs.has('delete')) out.push(r);
  }
  return { resources: out, failed };
}
