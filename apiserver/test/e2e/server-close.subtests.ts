// Closing the API server ends every client connection at once, including ones that never finished their TLS
// handshake and open watches, so `berth up` stops promptly and a restart can take the port again.

import { connect } from 'node:net';
import t from 'tap';
import { request, startTestServer } from '@berth/testkit';

t.test('close() does not wait for half-open or watching clients', async (t) => {
  const ts = await startTestServer();
  t.teardown(() => ts.close());
  const port = Number(new URL(ts.url).port);
  // A client that connected but never spoke TLS, as one reconnecting at the wrong moment would look.
  const raw = connect({ host: '127.0.0.1', port });
  raw.on('error', () => undefined);
  await new Promise((resolve) => raw.once('connect', resolve));
  const watch = request(ts, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/containers?watch=true').catch(
    () => undefined,
  );
  await new Promise((r) => setTimeout(r, 200));
  const started = Date.now();
  await ts.stop();
  t.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms`);
  await watch;
  raw.destroy();
  await ts.restart();
  t.equal((await request(ts, 'GET', '/readyz')).status, 200, 'restarts on the same port');
});
