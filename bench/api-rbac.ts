// RBAC's cost on the write path: ConfigMap creates/s through HTTPS by a non-admin user (a client certificate bound
// to `edit`, so every request is decided by the RBAC rules, and every write also passes escalation prevention)
// against a server that allows everything, both in this process, alternated so drift hits both alike; a third row
// adds the audit log (the default policy logs every write at Request level, bodies included), so the three rows
// give RBAC's cost and that of RBAC, admission and audit together (issue 15's goal: at most 10%).
//
//   node --conditions=berth-src --import=tsx bench/api-rbac.ts [--seconds 3] [--concurrency 16] [--rounds 2]

import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { alwaysAllow, ApiServer, ensurePki, issueClientCertificate, LevelStore, type Pki } from '@berth/apiserver';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    rounds: { type: 'string', default: '2' },
  },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const rounds = Number(values.rounds);

interface Server {
  readonly name: string;
  readonly server: ApiServer;
  readonly store: LevelStore;
  readonly pki: Pki;
  readonly dir: string;
}

async function start(name: string, rbac: boolean, audit = false): Promise<Server> {
  const dir = await mkdtemp(join(tmpdir(), `berth-bench-${name}-`));
  const pki = await ensurePki(dir, []);
  const store = await LevelStore.open({ dir: join(dir, 'store') });
  const server = await ApiServer.start({
    store,
    pki,
    host: '127.0.0.1',
    port: 0,
    ...(rbac ? {} : { authorizer: alwaysAllow, podSecurity: false }),
    ...(audit ? { audit: { path: join(dir, 'audit.log') } } : {}),
  });
  return { name, server, store, pki, dir };
}

async function bindEdit(s: Server): Promise<void> {
  const res = await fetchAdmin(s, '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'bench-edit' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
    subjects: [{ kind: 'User', name: 'bench', apiGroup: 'rbac.authorization.k8s.io' }],
  });
  if (res !== 201) throw new Error(`binding: ${res}`);
}

async function fetchAdmin(s: Server, path: string, body: unknown): Promise<number> {
  const pool = new Pool(s.server.url, { connect: { ca: s.pki.caCert } });
  const res = await pool.request({
    method: 'POST',
    path,
    headers: { authorization: `Bearer ${s.pki.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  await res.body.text();
  await pool.close();
  return res.statusCode;
}

let seq = 0;
async function drive(s: Server): Promise<number> {
  const { cert, key } = await issueClientCertificate(s.pki, 'bench');
  const pool = new Pool(s.server.url, { connections: concurrency, connect: { ca: s.pki.caCert, cert, key } });
  let done = 0;
  let measuring = false;
  let stop = false;
  const client = async () => {
    while (!stop) {
      const res = await pool.request({
        method: 'POST',
        path: '/api/v1/namespaces/default/configmaps',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `c${seq++}` },
          data: { a: 'b' },
        }),
      });
      const text = await res.body.text();
      if (res.statusCode !== 201) throw new Error(`${s.name}: ${res.statusCode} ${text.slice(0, 200)}`);
      if (measuring) done++;
    }
  };
  const clients = Array.from({ length: concurrency }, client);
  await new Promise((r) => setTimeout(r, 500));
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = (performance.now() - t0) / 1000;
  const count = done;
  stop = true;
  await Promise.all(clients);
  await pool.close();
  return count / elapsed;
}

console.log(
  `load average before: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const off = await start('allow-all', false);
const on = await start('rbac', true);
const audited = await start('rbac-audit', true, true);
await bindEdit(on);
await bindEdit(audited);
// Let the authorizer's index see the binding (it follows the watch cache).
await new Promise((r) => setTimeout(r, 200));
const results = { off: [] as number[], on: [] as number[], audited: [] as number[] };
try {
  for (let i = 0; i < rounds; i++) {
    results.off.push(await drive(off));
    results.on.push(await drive(on));
    results.audited.push(await drive(audited));
  }
} finally {
  for (const s of [off, on, audited]) {
    await s.server.close();
    await s.store.close();
    await rm(s.dir, { recursive: true, force: true });
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(
  `concurrency ${concurrency}, ${seconds} s per row, ${rounds} rounds each, ConfigMap creates by user "bench"`,
);
console.log(`allow-all: ${results.off.map((x) => x.toFixed(0)).join(', ')} creates/s`);
console.log(`RBAC:      ${results.on.map((x) => x.toFixed(0)).join(', ')} creates/s`);
console.log(`RBAC+audit: ${results.audited.map((x) => x.toFixed(0)).join(', ')} creates/s`);
console.log(
  `creates/s: allow-all ${mean(results.off).toFixed(0)}, RBAC ${mean(results.on).toFixed(0)}, ratio ${(mean(results.on) / mean(results.off)).toFixed(3)} (RBAC cost ${((1 - mean(results.on) / mean(results.off)) * 100).toFixed(1)}%)`,
);
console.log(
  `creates/s: RBAC, admission and audit ${mean(results.audited).toFixed(0)}, ratio to allow-all ${(mean(results.audited) / mean(results.off)).toFixed(3)} (cost ${((1 - mean(results.audited) / mean(results.off)) * 100).toFixed(1)}%)`,
);
