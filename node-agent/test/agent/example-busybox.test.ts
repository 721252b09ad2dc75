// manifests/examples/container-busybox.yaml does what its header promises: applied with kubectl, its httpd answers
// on 127.0.0.1:<hostPort> of the node. The test's registry and a free port stand in for 127.0.0.1:5000 and 8080
// (the machine is shared); everything else is applied as written. Needs root.
import { readFile, writeFile } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { eventually, freePort } from '@berth/testkit';
import { setUpCluster } from './harness.js';

const manifest = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../manifests/examples/container-busybox.yaml',
);
const cluster = await setUpCluster(t, { agent: true });

function get(url: string): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    httpGet(url, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', () => resolve(undefined));
  });
}

t.test('container-busybox.yaml answers on 127.0.0.1:<hostPort>', async (t) => {
  const text = await readFile(manifest, 'utf8');
  t.match(text, 'hostPort: 8080', 'the example publishes 8080');
  t.match(text, 'serving HTTP on 127.0.0.1:8080', 'and says so');
  const port = await freePort();
  const file = path.join(cluster.root, 'container-busybox.yaml');
  await writeFile(
    file,
    text.replace('127.0.0.1:5000/library/busybox:latest', cluster.image).replace('hostPort: 8080', `hostPort: ${port}`),
  );
  const applied = await cluster.server.kubectl(['apply', '-f', file]);
  t.match(applied.stdout, 'container.berth.dev/hello created');
  await cluster.waitFor('hello', (c) => c.status?.phase === 'Running');
  let res: { status: number; body: string } | undefined;
  t.ok(await eventually(async () => (res = await get(`http://127.0.0.1:${port}/`)) !== undefined), 'something answers');
  t.same(res, { status: 200, body: 'hello from hello\n' });
  // httpd as pid 1 ignores SIGTERM, so this waits out the example's 30 s grace period before the SIGKILL.
  await cluster.server.kubectl(['delete', '-f', file]);
  t.ok(await cluster.waitGone('hello', 40_000));
});
