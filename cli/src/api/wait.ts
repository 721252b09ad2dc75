// Waits for an object to reach a state: one read, then a watch of that object from the read's resourceVersion,
// so a change is seen as it happens instead of by polling.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { berthPath, statusError, type ApiClient, type ApiObject, type BerthPlural } from './client.js';
import { ApiStatusError, StreamError, UnreachableError } from '../errors.js';

/**
 * Resolves with `decide(object)` once it is not undefined; `decide(undefined, last)` is asked when the object is
 * gone (`last`: its final state, when a watch saw it deleted). Rejects with a StreamError after `timeoutMs`.
 * With `from` (an object just read) the first watch starts at it, so no change after that read is missed.
 */
export async function waitFor<T extends ApiObject, R>(
  client: ApiClient,
  plural: BerthPlural,
  name: string,
  decide: (object: T | undefined, last?: T) => R | undefined,
  timeoutMs = 5 * 60_000,
  from?: T,
): Promise<R> {
  const deadline = Date.now() + timeoutMs;
  let known = from;
  for (;;) {
    const current = known ?? (await client.find<T>(plural, name));
    known = undefined;
    const first = decide(current);
    if (first !== undefined) return first;
    if (Date.now() > deadline) throw new StreamError(`timed out waiting for ${plural.slice(0, -1)} ${name}`);
    const decided = await watchOnce(client, plural, name, current?.metadata.resourceVersion, decide, deadline);
    if (decided !== undefined) return decided.value;
  }
}

/** One watch stream; resolves with a decision, or undefined when the stream ended (to read and watch again). */
function watchOnce<T extends ApiObject, R>(
  client: ApiClient,
  plural: BerthPlural,
  name: string,
  resourceVersion: string | undefined,
  decide: (object: T | undefined, last?: T) => R | undefined,
  deadline: number,
): Promise<{ value: R } | undefined> {
  const api = client.connection;
  const url = new URL(berthPath(plural, client.namespace), api.server);
  url.searchParams.set('watch', 'true');
  url.searchParams.set('fieldSelector', `metadata.name=${name}`);
  if (resourceVersion !== undefined) url.searchParams.set('resourceVersion', resourceVersion);
  url.searchParams.set('timeoutSeconds', String(Math.max(1, Math.ceil((deadline - Date.now()) / 1000))));
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      { ...api.options, method: 'GET', headers: { ...api.options.headers, Accept: 'application/json' } },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const err = statusError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
            // 410 Gone: the read is too old to watch from; read again.
            if (ApiStatusError.isInstance(err) && err.status === 410) resolve(undefined);
            else reject(err);
          });
          return;
        }
        let buffered = '';
        let finished = false;
        res.on('data', (c: Buffer) => {
          if (finished) return;
          buffered += c.toString('utf8');
          for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
            const line = buffered.slice(0, nl).trim();
            buffered = buffered.slice(nl + 1);
            if (line === '') continue;
            const event = JSON.parse(line) as { type?: string; object?: T };
            if (event.type === 'BOOKMARK') continue;
            if (event.type === 'ERROR') {
              finished = true;
              req.destroy();
              resolve(undefined);
              return;
            }
            let value: R | undefined;
            try {
              value = event.type === 'DELETED' ? decide(undefined, event.object) : decide(event.object);
            } catch (e) {
              finished = true;
              req.destroy();
              reject(e);
              return;
            }
            if (value !== undefined) {
              finished = true;
              req.destroy();
              resolve({ value });
              return;
            }
          }
        });
        res.on('end', () => resolve(undefined));
        res.on('error', () => resolve(undefined));
      },
    );
    req.on('error', (e) => reject(new UnreachableError(api.server.origin, e)));
    req.end();
  });
}
