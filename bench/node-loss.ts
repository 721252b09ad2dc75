// Benchmark of node loss: two hosts' agents (`berth agent --server --token`, joined with a bootstrap token) under one
// API server and a `berth controllers` process; a 4-replica Service spread over both; one agent is killed -9 and the
// clock runs until the Service again has 4 Ready replicas, all on the surviving node: the Node turning NotReady
// (its Lease stops moving), the eviction of its replicas, their replacements scheduled, started and Ready.
// The peer is Kubernetes' defaults, computed rather than run (no kubelet here): 40 s node-monitor grace period plus
// 300 s of the unreachable taint's default tolerationSeconds before a Pod is evicted.
// Not a test: run (root, crun, conmon) with
//   node --conditions=berth-src --import=tsx bench/node-loss.ts [--grace 8] [--eviction 2] [--renew 1] [--rounds 1]

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { freePort } from '@berth/testkit';
import { startBerth, type BerthProcess } from './api-process.js';

const execFileAsync = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const main = join(repo, 'cli/dist/main.js');
const { values } = parseArgs({
  options: {
    grace: { type: 'string', default: '8' },
    eviction: { type: 'string', default: '2' },
    renew: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '1' },
    replicas: { type: 'string', default: '4' },
  },
});
const grace = Number(values.grace);
const eviction = Number(values.eviction);
const renew = Number(values.renew);
const rounds = Number(values.rounds);
const replicas = Number(values.replicas);

interface Container {
  metadata: { name: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}
interface Node {
  metadata: { name: string };
  status?: { conditions?: { type: string; status: string }[] };
}

function api<T>(
  berth: BerthProcess,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, berth.url),
      {
        method,
        ca: berth.caCert,
        headers: { Authorization: `Bearer ${berth.token}`, 'Content-Type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: (text === '' ? {} : JSON.parse(text)) as T }));
      },
    );
    req.once('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** A `berth` process; resolves once its stdout shows `ready`. */
function startProcess(args: readonly string[], ready: string, env = process.env): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes(ready)) resolve(child);
    });
    child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8000)));
    child.once('exit', (code) => reject(new Error(`berth ${args[0]} exited ${code}: ${out}`)));
  });
}

async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<number> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; ) {
    if (await check()) return Date.now();
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
}

const isTrue = (conditions: { type: string; status: string }[] | undefined, type: string) =>
  conditions?.some((c) => c.type === type && c.status === 'True') === true;

const work = await mkdtemp(join(tmpdir(), 'berth-bench-node-loss-'));
const registryPort = await freePort();
const registry = (verb: 'start' | 'stop') =>
  execFileAsync(join(repo, 'hack', 'registry.sh'), [verb, '--port', String(registryPort), '--dir', join(work, 'reg')]);
await registry('start');
await execFileAsync(join(repo, 'hack', 'busybox-image.sh'), [`127.0.0.1:${registryPort}`], {
  env: { ...process.env, BERTH_BUSYBOX_OCI: join(work, 'oci') },
});
const berth = await startBerth({ upArgs: ['--no-controllers'] });
const { kubeconfig } = berth;
const controllers = await startProcess(
  [
    'controllers',
    '--kubeconfig',
    kubeconfig,
    '--node-monitor-grace-period',
    String(grace),
    '--pod-eviction-timeout',
    String(eviction),
    '--log-level',
    'warn',
  ],
  'started',
);
const token = await new Promise<string>((resolve, reject) =>
  execFile(
    process.execPath,
    [main, 'token', 'create', '--ttl', '1h'],
    { env: { ...process.env, KUBECONFIG: kubeconfig } },
    (e, out) => (e === null ? resolve(out.trim()) : reject(e)),
  ),
);
const nodes = ['bench-host-a', 'bench-host-b'];
const agents = new Map<string, ChildProcess>();
const startAgent = async (node: string) =>
  agents.set(
    node,
    await startProcess(
      [
        'agent',
        '--server',
        berth.url,
        '--token',
        token,
        '--node-name',
        node,
        '--data-dir',
        join(work, node),
        '--runtime-root',
        join(work, node, 'run', 'crun'),
        '--lease-renew-interval',
        String(renew),
        '--log-level',
        'warn',
      ],
      'is up',
    ),
  );
const base = '/apis/berth.dev/v1alpha1/namespaces/default';
const listContainers = async () => (await api<{ items: Container[] }>(berth, 'GET', `${base}/containers`)).body.items;
const nodeReady = async (name: string) =>
  isTrue((await api<Node>(berth, 'GET', `/api/v1/nodes/${name}`)).body.status?.conditions, 'Ready');

const rows: { notReady: number; evicted: number; recovered: number }[] = [];
try {
  await Promise.all(nodes.map(startAgent));
  await until('both Nodes Ready', async () => (await Promise.all(nodes.map(nodeReady))).every(Boolean));
  const service = await api(berth, 'POST', `${base}/services`, {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'survivor' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'survivor' } },
      template: {
        metadata: { labels: { app: 'survivor' } },
        spec: {
          image: `127.0.0.1:${registryPort}/library/busybox:latest`,
          command: ['sleep', '3600'],
          networkMode: 'none',
          terminationGracePeriodSeconds: 0,
        },
      },
    },
  });
  if (service.status !== 201) throw new Error(`Service: ${service.status} ${JSON.stringify(service.body)}`);
  const readyOn = async (only?: string) =>
    (await listContainers()).filter(
      (c) =>
        c.metadata.labels?.['app'] === 'survivor' &&
        c.metadata.deletionTimestamp === undefined &&
        c.status?.phase === 'Running' &&
        isTrue(c.status?.conditions, 'Ready') &&
        (only === undefined || c.spec.nodeName === only),
    ).length;
  for (let round = 0; round < rounds; round++) {
    await until('all replicas Ready', async () => (await readyOn()) === replicas);
    const placed = (await listContainers()).filter((c) => c.metadata.labels?.['app'] === 'survivor');
    const lost = nodes.find((n) => placed.some((c) => c.spec.nodeName === n)) as string;
    const live = nodes.find((n) => n !== lost) as string;
    const onLost = placed.filter((c) => c.spec.nodeName === lost).map((c) => c.metadata.name);
    await stopProcess(agents.get(lost), 'SIGKILL');
    const killed = Date.now();
    const notReady = await until('Node NotReady', async () => !(await nodeReady(lost)));
    const evicted = await until('replicas evicted', async () => {
      const now = await listContainers();
      return onLost.every((name) => {
        const c = now.find((x) => x.metadata.name === name);
        return c === undefined || c.metadata.deletionTimestamp !== undefined;
      });
    });
    const recovered = await until('replicas Ready elsewhere', async () => (await readyOn(live)) === replicas);
    rows.push({ notReady: notReady - killed, evicted: evicted - killed, recovered: recovered - killed });
    process.stderr.write(`round ${round + 1}: ${onLost.length} replicas lost on ${lost}\n`);
    // The host comes back: its agent stops what was evicted, the next round starts from a spread again.
    await startAgent(lost);
    await until('the lost Node Ready again', () => nodeReady(lost));
    if (round + 1 < rounds) {
      // Spread again: remove the survivors' replicas so the scheduler places new ones over both hosts.
      await api(berth, 'DELETE', `${base}/containers?labelSelector=app%3Dsurvivor`);
      await until('old replicas gone', async () =>
        (await listContainers()).every(
          (c) => c.metadata.labels?.['app'] !== 'survivor' || c.metadata.deletionTimestamp === undefined,
        ),
      );
    }
  }
} finally {
  await api(berth, 'DELETE', `${base}/services/survivor`).catch(() => undefined);
  await until('containers gone', async () => (await listContainers()).length === 0, 60_000).catch(() => undefined);
  for (const agent of agents.values()) await stopProcess(agent);
  await stopProcess(controllers);
  await berth.close();
  await registry('stop').catch(() => undefined);
  await rm(work, { recursive: true, force: true });
}

const s = (ms: number) => (ms / 1000).toFixed(1).padStart(8);
console.log(
  `load average: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
console.log(
  `settings: --node-monitor-grace-period ${grace} s, --pod-eviction-timeout ${eviction} s, agent --lease-renew-interval ${renew} s, ${replicas} replicas`,
);
console.log('round  NotReady   evicted  Ready elsewhere (s after kill -9)');
for (const [i, r] of rows.entries())
  console.log(`${String(i + 1).padStart(5)} ${s(r.notReady)} ${s(r.evicted)} ${s(r.recovered)}`);
console.log(
  `Kubernetes' defaults (not run): NotReady after 40 s, eviction after 40 + 300 s; berth's defaults: 40 s, 40 + 60 s`,
);
