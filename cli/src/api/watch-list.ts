// Keeps up with the objects a label selector matches: one list, then a watch from the list's resourceVersion, watched
// again where the last stream ended (listed again after a 410), until the signal aborts. What a follow needs to see
// objects that appear after it began without polling.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { berthPath, statusError, type ApiClient, type ApiObject, type BerthPlural } from './client.js';
import { ApiStatusError, UnreachableError } from '../errors.js';

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
    resourceVersion = await watchFrom(client, path, labelSelector, resourceVersion, onEvent, signal);
  }
}

/** One watch stream; resolves with the resourceVersion to watch on from, or undefined to list again. */
function watchFrom<T extends ApiObject>(
  client: ApiClient,
  path: string,
  labelSelector: string,
  resourceVersion: string | undefined,
  onEvent: (type: ListEvent, object: T) => void,
  signal: AbortSignal,
): Promise<string | undefined> {
  const api = client.connection;
  const url = new URL(path, api.server);
  url.searchParams.set('watch', 'true');
  url.searchParams.set('labelSelector', labelSelector);
  url.searchParams.set('allowWatchBookmarks', 'true');
  if (resourceVersion !== undefined) url.searchParams.set('resourceVersion', resourceVersion);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let last = resourceVersion;
    const abort = () => {
      req.destroy();
      resolve(last);
    };
    const req = send(
      url,
      { ...api.options, method: 'GET', headers: { ...api.options.headers, Accept: 'application/json' } },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            signal.removeEventListener('abort', abort);
            const err = statusError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
            // 410 Gone: too old to watch from; list again.
            if (ApiStatusError.isInstance(err) && err.status === 410) resolve(undefined);
            else reject(err);
          });
          return;
        }
        let buffered = '';
        res.on('data', (c: Buffer) => {
          buffered += c.toString('utf8');
          for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line === '') continue;
            const event = JSON.parse(line) as { type?: string; object?: T };
            if (event.type === 'ERROR') {
              // An expired resourceVersion comes as an ERROR event too: list again.
              last = undefined;
              req.destroy();
              continue;
            }
            const object = event.object;
            if (object === undefined) continue;
            last = object.metadata.resourceVersion ?? last;
            if (event.type === 'ADDED' || event.type === 'MODIFIED' || event.type === 'DELETED')
              onEvent(event.type, object);
          }
        });
        const ended = () => {
          signal.removeEventListener('abort', abort);
          resolve(last);
        };
        res.on('end', ended);
        res.on('error', ended);
        res.on('close', ended);
      },
    );
    signal.addEventListener('abort', abort, { once: true });
    req.on('error', (e) => {
      signal.removeEventListener('abort', abort);
      if (signal.aborted) resolve(last);
      else reject(new UnreachableError(api.server.origin, e));
    });
    req.end();
  });
}
