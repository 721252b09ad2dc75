// An informer whose server is gone, or answers 429, waits longer and longer between tries instead of retrying at a
// fixed 100 ms (a standby `berth controllers` whose servers were all gone made ~160 tries a second, ~0.5 core).
// The fake API server here counts the connections tried in a window of fixed length after the trouble starts.
import http from 'node:http';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import type { Teardown } from '@berth/testkit';
import t from 'tap';
import { ApiCallError, ApiClient, RetryBackoff, SharedInformer } from '../src/index.js';
import { configMaps, eventually } from './harness.js';

type Mode = 'serve' | 'reset' | 'throttle';

/** A plain-HTTP API server of one empty ConfigMap list whose watches stay open, or fail as `mode` says. */
async function fakeApi(t: Teardown) {
  let mode: Mode = 'serve';
  const tries: number[] = [];
  const watches = new Set<http.ServerResponse>();
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.searchParams.get('watch') !== 'true') {
      res.setHeader('Content-Type', 'application/json');
      res.end(
        JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: '5' }, items: [] }),
      );
      return;
    }
    tries.push(Date.now());
    if (mode === 'throttle') {
      res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '1' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'TooManyRequests',
          message: 'too many requests, please try again later',
          code: 429,
          details: { retryAfterSeconds: 1 },
        }),
      );
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.flushHeaders();
    watches.add(res);
    res.once('close', () => watches.delete(res));
    if (mode === 'serve')
      res.write(
        `${JSON.stringify({
          type: 'ADDED',
          object: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'back', namespace: 'default', resourceVersion: '6' },
          },
        })}\n`,
      );
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // As the loopback balancer does when no server answers: the connection is taken and dropped at once.
    if (mode === 'reset') {
      tries.push(Date.now());
      socket.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'fake',
        server: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        // client-node refuses plain HTTP unless TLS checks are off (there is no TLS to check).
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'fake' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return {
    kc,
    tries,
    /** Switches what the server does; an open watch is cut, as when its server dies. */
    set(next: Mode) {
      mode = next;
      tries.length = 0;
      for (const w of watches) w.destroy();
      for (const s of sockets) s.destroy();
    },
  };
}

/** How many tries came within `windowMs` of the first (waits out the window). */
async function triesInWindow(tries: number[], windowMs: number): Promise<number> {
  await eventually(() => tries.length > 0, 10_000);
  const first = tries[0] as number;
  await sleep(Math.max(0, first + windowMs - Date.now()));
  return tries.filter((at) => at < first + windowMs).length;
}

t.test('the retry back-off doubles to its cap, is stretched by jitter, and starts over on reset', async (t) => {
  const low = new RetryBackoff({ initialMs: 100, maxMs: 800, random: () => 0 });
  t.same(
    Array.from({ length: 6 }, () => low.next()),
    [100, 200, 400, 800, 800, 800],
  );
  t.equal(low.failures, 6);
  low.reset();
  t.equal(low.next(), 100, 'a reset starts from the first step');
  const high = new RetryBackoff({ initialMs: 100, maxMs: 800, random: () => 0.5 });
  t.same(
    Array.from({ length: 5 }, () => high.next()),
    [150, 300, 600, 1200, 1200],
    'jitter 1 stretches each step by up to itself',
  );
  t.equal(new RetryBackoff({ jitter: 0 }).next(), 100, 'defaults: 100 ms first');
  t.throws(() => new RetryBackoff({ jitter: -1 }), /jitter/);
});

t.test(
  'a synced informer whose server drops every connection backs off instead of retrying every 100 ms',
  async (t) => {
    const api = await fakeApi(t);
    const client = new ApiClient({ kubeconfig: api.kc, userAgent: 'backoff-test' });
    t.teardown(() => client.close());
    let errors = 0;
    const informer = new SharedInformer(client, configMaps, {
      reconnectBackoff: { initialMs: 50, maxMs: 400 },
      onError: () => (errors += 1),
    });
    informer.start();
    t.teardown(() => informer.stop());
    await informer.waitForSync(AbortSignal.timeout(10_000));
    t.ok(
      await eventually(() => informer.get('default', 'back') !== undefined),
      'the watch is open and carried an event',
    );

    api.set('reset');
    // Pauses of ≥ 50, 100, 200, 400 ms: at most 5 tries start within 1 s. A fixed 50 ms pause made ~20.
    const n = await triesInWindow(api.tries, 1000);
    t.ok(n >= 1 && n <= 7, `${n} connections tried in the 1 s after the server went away`);
    t.ok(errors >= 1, 'each failure is reported');

    api.set('serve');
    t.ok(
      await eventually(() => api.tries.length > 0, 10_000),
      'the informer watches again once the server is back (the cap is 400 ms)',
    );
  },
);

t.test('a watch answered 429 with Retry-After waits at least that long before it tries again', async (t) => {
  const api = await fakeApi(t);
  const client = new ApiClient({ kubeconfig: api.kc, userAgent: 'backoff-test' });
  t.teardown(() => client.close());
  const failures: unknown[] = [];
  const informer = new SharedInformer(client, configMaps, {
    reconnectBackoff: { initialMs: 100, maxMs: 800 },
    onError: (err) => failures.push(err),
  });
  api.set('throttle');
  informer.start();
  t.teardown(() => informer.stop());
  await informer.waitForSync(AbortSignal.timeout(10_000));
  // Retry-After: 1 → a try at 0 s, the next at ≥ 1 s: at most 2 within 1.2 s (a fixed 100 ms pause made ~11).
  const n = await triesInWindow(api.tries, 1200);
  t.ok(n >= 1 && n <= 2, `${n} watches tried in the 1.2 s after the first 429`);
  const first = failures[0];
  t.ok(ApiCallError.isInstance(first), 'the 429 reaches onError as an ApiCallError');
  if (ApiCallError.isInstance(first)) {
    t.equal(first.statusCode, 429);
    t.equal(first.retryAfterSeconds, 1, "the server's Retry-After");
  }
});
