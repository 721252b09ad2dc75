// Every request of the berth command says who sends it, User-Agent berth-cli/<version> (<os>/<arch>), so the
// API server names the field manager of its writes berth-cli (as it names kubectl's after kubectl's agent).
// An HTTPS server with berth's own PKI stands in for the API server and records what arrives.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { ensurePki } from '@berth/apiserver';
import { berthMain } from './berth-process.js';

const version = (JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

const dir = await mkdtemp(join(tmpdir(), 'berth-cli-ua-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const pki = await ensurePki(dir, ['127.0.0.1']);
const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
const notFound = JSON.stringify({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  message: 'containers.berth.dev "web" not found',
  reason: 'NotFound',
  code: 404,
});
const server = createServer({ cert: pki.serverCert, key: pki.serverKey }, (req, res) => {
  seen.push({ path: req.url ?? '', headers: req.headers });
  res.writeHead(404, { 'Content-Type': 'application/json' }).end(notFound);
});
server.on('upgrade', (req, socket) => {
  seen.push({ path: req.url ?? '', headers: req.headers });
  socket.end(
    `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(notFound)}\r\n\r\n${notFound}`,
  );
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
const { port } = server.address() as { port: number };
const kubeconfig = join(dir, 'kubeconfig');
await writeFile(
  kubeconfig,
  stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'berth',
        cluster: {
          server: `https://127.0.0.1:${port}`,
          'certificate-authority-data': Buffer.from(pki.caCert).toString('base64'),
        },
      },
    ],
    users: [{ name: 'admin', user: { token: pki.adminToken } }],
    contexts: [{ name: 'berth', context: { cluster: 'berth', user: 'admin' } }],
    'current-context': 'berth',
  }),
);

const berth = (args: string[], config = kubeconfig): Promise<{ code: number; stderr: string }> =>
  new Promise((resolve) => {
    execFile(
      process.execPath,
      [berthMain, ...args],
      { env: { ...process.env, KUBECONFIG: config } },
      (err, _stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stderr });
      },
    );
  });

const expected = new RegExp(`^berth-cli/${version.replace(/\./g, '\\.')} \\(linux/[a-z0-9]+\\)$`);

t.test('berth logs and berth exec send User-Agent berth-cli/<version> (<os>/<arch>)', async (t) => {
  const logs = await berth(['logs', 'web']);
  t.equal(logs.code, 1);
  t.match(logs.stderr, /containers\.berth\.dev "web" not found/, 'the Status message comes through');
  const exec = await berth(['exec', 'web', '--', 'true']);
  t.not(exec.code, 0);
  t.same(
    seen.map((r) => r.path.split('?')[0]),
    [
      '/apis/berth.dev/v1alpha1/namespaces/default/containers/web/log',
      '/apis/berth.dev/v1alpha1/namespaces/default/containers/web/exec',
    ],
  );
  for (const r of seen) {
    t.match(r.headers['user-agent'], expected, `${r.path.split('?')[0]} says berth-cli`);
    t.equal(r.headers['authorization'], `Bearer ${pki.adminToken}`, 'and keeps the kubeconfig credentials');
  }
});

t.test("the kubeconfig user's `as` is sent as Impersonate-User, as kubectl sends it", async (t) => {
  const impersonating = join(dir, 'kubeconfig-as');
  const config = (await readFile(kubeconfig, 'utf8')).replace(/token: .*/, (line) => `${line}\n      as: jane`);
  t.match(config, /\n {6}as: jane\n/, 'the user entry names jane');
  await writeFile(impersonating, config);
  seen.length = 0;
  t.equal((await berth(['logs', 'web'], impersonating)).code, 1);
  t.equal(seen.length, 1);
  t.equal(seen[0]?.headers['impersonate-user'], 'jane');
  t.equal(seen[0]?.headers['authorization'], `Bearer ${pki.adminToken}`, 'beside the credentials it acts with');
});
