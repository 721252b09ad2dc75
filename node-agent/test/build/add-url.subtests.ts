// `ADD URL` reaches only the node's loopback: another host, or a loopback server redirecting to one, is refused
// before any request leaves for it, with the Dockerfile line; loopback URLs (by name or address) download.
import { createServer } from 'node:http';
import t from 'tap';
import { download, isLoopbackUrl } from '../../src/build/add-url.js';
import { BuildError } from '../../src/build/errors.js';

t.test('ADD URL: loopback only, redirects included', async (t) => {
  const server = createServer((req, res) => {
    if (req.url === '/away') res.writeHead(302, { location: 'http://192.0.2.1/secret' }).end();
    else if (req.url === '/here') res.writeHead(301, { location: '/file.txt' }).end();
    else res.writeHead(200).end('ok\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  for (const url of [
    'http://10.0.0.1/x',
    'https://example.com/x',
    'http://127.0.0.1.nip.io/x',
    'http://[::ffff:10.0.0.1]/',
  ]) {
    const err = await download(url, undefined, 3, undefined).catch((e: unknown) => e);
    t.ok(BuildError.isInstance(err), `${url} is a BuildError`);
    t.match(err, { code: 'ADD_URL_FAILED', line: 3, message: /is not loopback/ }, url);
  }
  const redirected = await download(`http://127.0.0.1:${port}/away`, undefined, 2, undefined).catch((e: unknown) => e);
  t.match(redirected, { code: 'ADD_URL_FAILED', message: /192\.0\.2\.1 is not loopback/ }, 'a redirect off loopback');

  const file = await download(`http://127.0.0.1:${port}/here`, undefined, 1, undefined);
  t.equal(file.data.toString(), 'ok\n');
  t.equal(file.name, 'file.txt', 'named by where the redirect led');
  t.ok(isLoopbackUrl(new URL('http://localhost:1/')) && isLoopbackUrl(new URL('http://[::1]:1/')));
});
