// One raw watch stream of a berth kind (`?watch=true` and the caller's selectors, one JSON event a line), shared
// by the waits of one object (wait.ts) and the follows of a label selector (watch-list.ts): each event is handed on
// until the caller has seen enough, and how the stream ended says whether to read again.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { berthPath, statusError, type ApiClient, type ApiObject, type BerthPlural } from './client.js';
import { ApiStatusError, UnreachableError } from '../errors.js';

/**
 * closed: the server ended the stream (its timeout); expired: the resourceVersion is too old (410, or an ERROR
 * event), read again; stopped: `onEvent` had seen enough; aborted: the signal.
 */
export type WatchEnd = 'closed' | 'expired' | 'stopped' | 'aborted';

/**
 * Watches `plural` in the client's namespace with `query` (undefined values left out; `watch=true` added). `onEvent`
 * gets every event but ERROR, BOOKMARK included; it returns true to stop. What it throws rejects the watch, as does
 * an error status other than 410 or a connection that fails (UnreachableError) while the signal is not aborted.
 */
export function watchStream<T extends ApiObject>(
  client: ApiClient,
  plural: BerthPlural,
  query: Readonly<Record<string, string | undefined>>,
  onEvent: (type: string | undefined, object: T | undefined) => boolean,
  signal?: AbortSignal,
): Promise<WatchEnd> {
  const api = client.connection;
  const url = new URL(berthPath(plural, client.namespace), api.server);
  url.searchParams.set('watch', 'true');
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (end: WatchEnd | Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', abort);
      req.destroy();
      if (end instanceof Error) reject(end);
      else resolve(end);
    };
    const abort = () => finish('aborted');
    const req = send(
      url,
      { ...api.options, method: 'GET', headers: { ...api.options.headers, Accept: 'application/json' } },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const err = statusError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
            finish(ApiStatusError.isInstance(err) && err.status === 410 ? 'expired' : err);
          });
          return;
        }
        let buffered = '';
        res.on('data', (c: Buffer) => {
          buffered += c.toString('utf8');
          for (let nl = buffered.indexOf('\n'); nl >= 0 && !settled; nl = buffered.indexOf('\n')) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line === '') continue;
            try {
              const event = JSON.parse(line) as { type?: string; object?: T };
              if (event.type === 'ERROR') finish('expired');
              else if (onEvent(event.type, event.object)) finish('stopped');
            } catch (e) {
              finish(e as Error);
            }
          }
        });
        const closed = () => finish(signal?.aborted === true ? 'aborted' : 'closed');
        res.on('end', closed);
        res.on('error', closed);
        res.on('close', closed);
      },
    );
    if (signal?.aborted === true) return finish('aborted');
    signal?.addEventListener('abort', abort, { once: true });
    req.on('error', (e) => finish(signal?.aborted === true ? 'aborted' : new UnreachableError(api.server.origin, e)));
    req.end();
  });
}
