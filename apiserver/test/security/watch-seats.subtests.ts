// A watch holds a read-only seat while it initializes, as API Priority and Fairness counts watch initialization: a
// user opening watches faster than they initialize is held to its share (429 past it), and the seat frees as soon as
// the watch's headers go out, while its stream stays open.
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Context, Next } from 'koa';
import t from 'tap';
import { maxInFlight } from '../../src/overload/max-in-flight.js';
import { readRequestInfo } from '../../src/request-chain/request-info.js';
import type { RequestState } from '../../src/request-chain/state.js';

const contextFor = (url: string, user: string) => {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  const state: RequestState = {
    requestInfo: readRequestInfo('GET', url),
    user: { name: user, uid: '', groups: ['system:authenticated'], extra: {} },
    signal: new AbortController().signal,
  };
  return { state, res, set: () => undefined } as unknown as Context & { state: RequestState };
};

t.test('a watch counts against its user while it initializes, not once it streams', async (t) => {
  const limit = maxInFlight({ maxReadOnly: 1, maxWaitMs: 5_000 });
  const watchUrl = '/api/v1/namespaces/default/configmaps?watch=true';
  let initialized: () => void = () => undefined;
  let ended: () => void = () => undefined;
  let headersSent: () => void = () => undefined;
  const sent = new Promise<void>((resolve) => (headersSent = resolve));
  const streaming = new Promise<void>((resolve) => (ended = resolve));
  const first = contextFor(watchUrl, 'flood');
  const watching = limit(first, (async () => {
    await new Promise<void>((resolve) => (initialized = resolve));
    first.res.writeHead(200);
    headersSent();
    await streaming;
  }) as Next);

  // While the first initializes, the same user's next watch is past its share: refused at once.
  const second = await limit(contextFor(watchUrl, 'flood'), (async () => undefined) as Next).catch((e: unknown) => e);
  t.match(second, { reason: 'TooManyRequests' }, 'a second watch initializing at once is a 429');

  initialized();
  await sent;
  // Streaming now: its seat is free, so a read passes though the watch is still open.
  let read = false;
  await limit(contextFor('/api/v1/namespaces/default/configmaps', 'flood'), (async () => {
    read = true;
  }) as Next);
  t.ok(read, 'the seat freed when the watch began streaming');
  ended();
  await watching;
});
