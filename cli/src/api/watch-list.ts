// Keeps up with the objects a label selector matches: one list, then a watch from the list's resourceVersion, watched
// again where the last stream ended (listed again after a 410), until the signal aborts. What a follow needs to see
// objects that appear after it began without polling.

import { berthPath, type ApiClient, type ApiObject, type BerthPlural } from './client.js';
import { watchStream } from './watch-stream.js';

/** ADDED for each object of a list (the first and any after a 410) as for one a watch reports created. */
export type ListEvent = 'ADDED' | 'MODIFIED' | 'DELETED';

export async function watchList<T extends ApiObject>(
  client: ApiClient,
  plural: BerthPlural,
  labelSelector: string,
  onEvent: (type: ListEvent, object: T) => void,
  signal: AbortSignal,
): Promise<void> {
  const path = berthPath(plural, client.namespace);
  let resourceVersion: string | undefined;
  while (!signal.aborted) {
    if (resourceVersion === undefined) {
      const list = await client.request<{ metadata?: { resourceVersion?: string }; items?: T[] }>(
        'GET',
        `${path}?labelSelector=${encodeURIComponent(labelSelector)}`,
      );
      for (const o of list.items ?? []) onEvent('ADDED', o);
      resourceVersion = list.metadata?.resourceVersion;
    }
    resourceVersion = await watchFrom(client, plural, labelSelector, resourceVersion, onEvent, signal);
  }
}

/** One watch stream; resolves with the resourceVersion to watch on from, or undefined to list again. */
async function watchFrom<T extends ApiObject>(
  client: ApiClient,
  plural: BerthPlural,
  labelSelector: string,
  resourceVersion: string | undefined,
  onEvent: (type: ListEvent, object: T) => void,
  signal: AbortSignal,
): Promise<string | undefined> {
  let last = resourceVersion;
  const end = await watchStream<T>(
    client,
    plural,
    { labelSelector, allowWatchBookmarks: 'true', resourceVersion },
    (type, object) => {
      if (object === undefined) return false;
      // Bookmarks move the resourceVersion on too, so the next watch starts after them.
      last = object.metadata.resourceVersion ?? last;
      if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') onEvent(type, object);
      return false;
    },
    signal,
  );
  // An expired resourceVersion (410, or an ERROR event): list again.
  return end === 'expired' ? undefined : last;
}
