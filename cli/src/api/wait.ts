// Waits for an object to reach a state: one read, then a watch of that object from the read's resourceVersion,
// so a change is seen as it happens instead of by polling.

import type { ApiClient, ApiObject, BerthPlural } from './client.js';
import { StreamError } from '../errors.js';
import { watchStream } from './watch-stream.js';

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
async function watchOnce<T extends ApiObject, R>(
  client: ApiClient,
  plural: BerthPlural,
  name: string,
  resourceVersion: string | undefined,
  decide: (object: T | undefined, last?: T) => R | undefined,
  deadline: number,
): Promise<{ value: R } | undefined> {
  let value: R | undefined;
  await watchStream<T>(
    client,
    plural,
    {
      fieldSelector: `metadata.name=${name}`,
      resourceVersion,
      timeoutSeconds: String(Math.max(1, Math.ceil((deadline - Date.now()) / 1000))),
    },
    (type, object) => {
      if (type === 'BOOKMARK') return false;
      value = type === 'DELETED' ? decide(undefined, object) : decide(object);
      return value !== undefined;
    },
  );
  return value === undefined ? undefined : { value };
}
