// Issue 4 benchmark: the no-op re-apply GitOps does every minute. Server-side applies a 50-object manifest once,
// then re-applies it unchanged: time per object through the full HTTPS API, checked to store nothing and emit no
// watch event. Peer, measured in the same run: a GET of the same objects (the floor of one API round trip).
// Run: node --conditions=berth-src --import=tsx bench/apply-noop.ts

import { Agent, request } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiServer, ensurePki, LevelStore } from '@berth/apiserver';

const objects = 50;
const rounds = 20;

const dir = await mkdtemp(join(tmpdir(), 'berth-bench-apply-'));
const pki = await ensurePki(dir, []);
const store = await LevelStore.open({ dir: join(dir, 'store') });
const server = await ApiServer.start({ store, pki, host: '127.0.0.1', port: 0 });
const agent = new Agent({ keepAlive: true, ca: pki.caCert });

function call(
  method: string,
  path: string,
  body?: string,
  contentType?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, server.url),
      {
        method,
        agent,
        headers: { Authorization: `Bearer ${pki.adminToken}`, ...(contentType ? { 'Content-Type': contentType } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('close', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const base = '/apis/berth.dev/v1alpha1/namespaces/default/containers';
const manifest = (i: number) =>
  JSON.stringify({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: {
      name: `app-${i}`,
      labels: { app: 'bench', tier: i % 2 === 0 ? 'web' : 'worker' },
      annotations: { 'berth.dev/owner': 'gitops' },
    },
    spec: {
      image: '127.0.0.1:5000/library/busybox:latest',
      command: ['sh', '-c', 'exec httpd -f -p 80'],
      env: Array.from({ length: 8 }, (_, k) => ({ name: `VAR_${k}`, value: `value-${i}-${k}` })),
      ports: [{ containerPort: 80, hostPort: 8000 + i, hostIP: '127.0.0.1' }],
      resources: { limits: { cpu: '250m', memory: '64Mi', pids: 128 } },
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
      volumes: [{ name: 'data', emptyDir: {} }],
    },
  });

const applyAll = async () => {
  for (let i = 0; i < objects; i++) {
    const r = await call(
      'PATCH',
      `${base}/app-${i}?fieldManager=gitops&force=true`,
      manifest(i),
      'application/apply-patch+yaml',
    );
    if (r.status >= 300) throw new Error(`apply failed: ${r.status} ${r.text}`);
  }
};
const getAll = async () => {
  for (let i = 0; i < objects; i++) await call('GET', `${base}/app-${i}`);
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const perObjectMs = async (fn: () => Promise<void>) => {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / objects;
};

await applyAll();
const revisionBefore = store.revision();
const watch = call(
  'GET',
  `${base}?watch=true&resourceVersion=${revisionBefore}&timeoutSeconds=${Math.ceil((rounds * objects * 3) / 1000) + 5}`,
);
const applyTimes: number[] = [];
const getTimes: number[] = [];
for (let r = 0; r < rounds; r++) {
  applyTimes.push(await perObjectMs(applyAll));
  getTimes.push(await perObjectMs(getAll));
}
const writes = store.revision() - revisionBefore;
await server.close();
const events = (await watch).text.trim();
await store.close();
agent.destroy();
await rm(dir, { recursive: true, force: true });

const a = median(applyTimes);
const g = median(getTimes);
console.log(
  `no-op server-side apply of ${objects} objects, ${rounds} rounds, sequential over one keep-alive HTTPS connection`,
);
console.log(`  apply (unchanged) per object: median ${a.toFixed(3)} ms`);
console.log(`  GET of the same object:       median ${g.toFixed(3)} ms   (peer: one API round trip)`);
console.log(`  ratio apply/GET: ${(a / g).toFixed(2)}x`);
console.log(`  writes during re-applies: ${writes}; watch events: ${events === '' ? 0 : events.split('\n').length}`);
