// Issue 14 benchmark: GitOps through the gitops controller against a real API server (testkit, in this process).
// 1. The no-op interval: a Sync pass over an unchanged revision of 200 ConfigMaps (read the artifact, dry-run
//    and apply every object, compare status): wall time, CPU of this process (API server and controller share
//    it, so an upper bound for the controller) and writes (goal: none, < 200 ms of CPU).
//    Peer: the bare no-op server-side re-apply of the same 200 objects through the same client.
// 2. commit → applied through the push webhook: a commit, a signed POST to the receiver, until the Sync reports
//    the commit applied (goal < 2 s). Peer: the same commit found by a 1 s interval poll instead.
// Run: node --conditions=berth-src --import=tsx bench/gitops-sync.ts [--objects 200] [--rounds 10]
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Manager, requestKey, resourcePath, type Resource } from '@berth/controller-runtime';
import { addGitOpsController } from '@berth/controllers';
import { request, startTestServer } from '@berth/testkit';
import { median } from './timing.js';

const { values } = parseArgs({
  options: { objects: { type: 'string', default: '200' }, rounds: { type: 'string', default: '10' } },
});
const objects = Number(values.objects);
const rounds = Number(values.rounds);
console.log(
  `load average: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

const ts = await startTestServer({ controllers: false });
const repoDir = await mkdtemp(join(tmpdir(), 'berth-bench-gitops-repo-'));
const dataDir = await mkdtemp(join(tmpdir(), 'berth-bench-gitops-data-'));
const gitEnv = {
  ...process.env,
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'b',
  GIT_AUTHOR_EMAIL: 'b@x',
  GIT_COMMITTER_NAME: 'b',
  GIT_COMMITTER_EMAIL: 'b@x',
};
const git = (...args: string[]) =>
  execFileSync('git', ['-C', repoDir, ...args], { env: gitEnv, encoding: 'utf8' }).trim();
git('init', '--quiet', '-b', 'main');
const configMap = (i: number, v: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\n  labels: {app: bench}\ndata:\n  i: "${i}"\n  v: "${v}"\n  text: "${'x'.repeat(200)}"\n`;
const commit = async (v: string, only?: number) => {
  for (let i = 0; i < objects; i++)
    if (only === undefined || i === only) await writeFile(join(repoDir, `cm-${i}.yaml`), configMap(i, v));
  git('add', '--all');
  git('commit', '--quiet', '-m', v);
  return git('rev-parse', 'HEAD');
};

const mgr = new Manager({ kubeconfig: ts.kubeconfig, userAgent: 'berth-controller-manager' });
const gitops = await addGitOpsController(mgr, { dataDir, receiver: { port: 0 } });
await mgr.start();
const post = async (path: string, body: unknown) => {
  const res = await request(ts, 'POST', path, { body: JSON.stringify(body), contentType: 'application/json' });
  if (res.status !== 201) throw new Error(`${path}: ${res.status} ${res.text}`);
};
const getJson = async (path: string) =>
  JSON.parse((await request(ts, 'GET', path)).text) as {
    metadata: { resourceVersion: string };
    status?: { lastAppliedRevision?: string };
  };
const base = '/apis/berth.dev/v1alpha1/namespaces/default';
const appliedRevision = async (name: string) => (await getJson(`${base}/syncs/${name}`)).status?.lastAppliedRevision;
const until = async (check: () => Promise<boolean>, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

const c1 = await commit('1');
await post(`/api/v1/namespaces/default/secrets`, {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'hook' },
  stringData: { token: 't' },
});
await post(`${base}/gitrepositories`, {
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'GitRepository',
  metadata: { name: 'src' },
  spec: { url: `file://${repoDir}`, interval: '1h', webhookSecretRef: { name: 'hook' } },
});
await post(`${base}/syncs`, {
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Sync',
  metadata: { name: 'app' },
  spec: { sourceRef: { name: 'src' }, interval: '1h', prune: true },
});
const firstStart = Date.now();
await until(async () => (await appliedRevision('app')) === `main@sha1:${c1}`);
console.log(`first apply of ${objects} objects: ${Date.now() - firstStart} ms (fetch, artifact, dry run, apply)`);

// 1. no-op passes, driven by hand through the queue (the interval would do the same once an hour).
const passes: number[] = [];
gitops.sync.observe(() => passes.push(Date.now()));
const storeRevision = async () => (await getJson('/api/v1/configmaps?limit=1')).metadata.resourceVersion;
const runPass = async () => {
  const n = passes.length;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // The Sync skips a pass within its interval when nothing changed; forgetting its last pass forces a full one.
  await rm(join(dataDir, 'syncs', 'default', 'app'), { force: true });
  gitops.sync.queue.add(requestKey({ namespace: 'default', name: 'app' }));
  await until(async () => passes.length > n);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wall, cpu: (cpu.user + cpu.system) / 1000 };
};
await runPass(); // settles the pass our own status write caused
const revBefore = await storeRevision();
const walls: number[] = [];
const cpus: number[] = [];
for (let r = 0; r < rounds; r++) {
  const { wall, cpu } = await runPass();
  walls.push(wall);
  cpus.push(cpu);
}
const writes = Number(await storeRevision()) - Number(revBefore);

// Peer: the same no-op server-side apply of every object, straight through the client.
const configmaps: Resource = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
const peerWalls: number[] = [];
const peerCpus: number[] = [];
for (let r = 0; r < rounds; r++) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < objects; i++) {
    await mgr.client.get(configmaps, 'default', `cm-${i}`);
    await mgr.client.request('PATCH', resourcePath(configmaps, 'default', `cm-${i}`), {
      body: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: `cm-${i}`,
          namespace: 'default',
          labels: { app: 'bench', 'sync.berth.dev/name': 'app', 'sync.berth.dev/namespace': 'default' },
        },
        data: { i: String(i), v: '1', text: 'x'.repeat(200) },
      },
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'berth-gitops', force: 'true' },
    });
  }
  peerWalls.push(performance.now() - t0);
  const cpu = process.cpuUsage(cpu0);
  peerCpus.push((cpu.user + cpu.system) / 1000);
}
console.log(`no-op Sync pass over ${objects} unchanged objects, ${rounds} rounds (medians):`);
console.log(
  `  Sync pass:              wall ${median(walls).toFixed(0)} ms, CPU ${median(cpus).toFixed(0)} ms (server + controller)`,
);
console.log(
  `  peer GET + bare re-apply: wall ${median(peerWalls).toFixed(0)} ms, CPU ${median(peerCpus).toFixed(0)} ms`,
);
console.log(
  `  ratio pass/peer (wall): ${(median(walls) / median(peerWalls)).toFixed(2)}x; writes during the Sync passes: ${writes}`,
);

// 2. commit → applied through the webhook, against the interval poll.
const receiver = gitops.receiver?.url ?? '';
const hookLatency: number[] = [];
for (let r = 0; r < rounds; r++) {
  const c = await commit(`hook-${r}`, r % objects);
  const body = JSON.stringify({ after: c });
  const t0 = performance.now();
  const res = await fetch(`${receiver}/hook/default/src`, {
    method: 'POST',
    body,
    headers: { 'X-Hub-Signature-256': `sha256=${createHmac('sha256', 't').update(body).digest('hex')}` },
  });
  if (res.status !== 200) throw new Error(`webhook: ${res.status} ${await res.text()}`);
  await until(async () => (await appliedRevision('app')) === `main@sha1:${c}`);
  hookLatency.push(performance.now() - t0);
}
await request(ts, 'PATCH', `${base}/gitrepositories/src`, {
  body: JSON.stringify({ spec: { interval: '1s' } }),
  contentType: 'application/merge-patch+json',
});
const pollLatency: number[] = [];
for (let r = 0; r < Math.min(rounds, 5); r++) {
  const c = await commit(`poll-${r}`, r % objects);
  const t0 = performance.now();
  await until(async () => (await appliedRevision('app')) === `main@sha1:${c}`);
  pollLatency.push(performance.now() - t0);
}
console.log(`commit → applied (${objects} objects in the revision, one changed):`);
console.log(
  `  through the webhook: median ${median(hookLatency).toFixed(0)} ms, max ${Math.max(...hookLatency).toFixed(0)} ms (${rounds} rounds)`,
);
console.log(`  peer, 1 s interval poll: median ${median(pollLatency).toFixed(0)} ms (${pollLatency.length} rounds)`);

await mgr.close();
await ts.close();
await rm(repoDir, { recursive: true, force: true });
await rm(dataDir, { recursive: true, force: true });
