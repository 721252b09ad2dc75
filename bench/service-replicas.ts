// Service replicas: (1) `berth up` (API server, controllers, node agent in its own process, image cached) takes a
// 20-replica Service from create to status.readyReplicas 20, side by side in each round with `podman run -d` of the
// same 20 busybox containers, one after another and all at once, and 20 bare `crun run -d` all at once (no network);
// `--network none` gives the replicas and podman loopback only (default: berth's default bridge and podman's); `--trace`
// adds when each replica was bound and Running and berth's API requests per replica; (2) a resync of a Service over 1,000 unchanged
// Containers (no agent: they stay Pending) writes nothing, and what one such reconcile costs in controller CPU.
//
//   npx tsc -b && node --conditions=berth-src --import=tsx bench/service-replicas.ts [--runs N] [--replicas N]
//        [--resync-replicas N] [--entry built|src] [--trace] [--cpu-prof DIR] [--no-resync] [--no-peers]
//        [--network none|bridge]
//
// Needs root (crun, cgroups, overlay). On a 2-core machine shared with other work the numbers are indicative only.
import { loadavg } from 'node:os';
import { CustomObjectsApi, type KubeConfig, Watch } from '@kubernetes/client-node';
import type { Container, Service } from '@berth/api';
import { startControllers } from '@berth/controllers';
import { startTestServer } from '@berth/testkit';
import { startAgentCluster } from './agent-cluster.js';
import { apiRequests, perUnit } from './api-process.js';
import { median } from './timing.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 3);
const replicas = Number(arg('--replicas') ?? 20);
const resyncReplicas = Number(arg('--resync-replicas') ?? 1000);
const entry = arg('--entry') === 'src' ? 'src' : 'built';
const trace = process.argv.includes('--trace');
const cpuProfDir = arg('--cpu-prof');
// Only berth's rounds (e.g. under `perf record`, where the peers' processes would blur the picture).
const noPeers = process.argv.includes('--no-peers');
const network = arg('--network') === 'none' ? 'none' : 'bridge';
const svcPath = { group: 'berth.dev', version: 'v1alpha1', namespace: 'default', plural: 'services' };
const ctrPath = { ...svcPath, plural: 'containers' };

function service(name: string, n: number, image: string): object {
  return {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Service',
    metadata: { name },
    spec: {
      replicas: n,
      selector: { matchLabels: { app: name } },
      strategy: { rollingUpdate: { maxSurge: '25%' } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          image,
          imagePullPolicy: 'IfNotPresent',
          command: ['sleep', '1000'],
          terminationGracePeriodSeconds: 0,
          ...(network === 'none' ? { networkMode: 'none' } : {}),
        },
      },
    },
  };
}

/** When each replica of a round was first seen created, bound, Running and Ready (ms from `t0`), by a watch. */
class ReplicaTrace {
  readonly #seen = new Map<string, { created?: number; bound?: number; running?: number; ready?: number }>();
  #abort: (() => void) | undefined;
  t0 = 0;

  async start(kc: KubeConfig): Promise<void> {
    const req = await new Watch(kc).watch(
      '/apis/berth.dev/v1alpha1/namespaces/default/containers',
      {},
      (type: string, c: Container) => {
        if (type === 'DELETED' || this.t0 === 0) return;
        const at = performance.now() - this.t0;
        const name = c.metadata.name ?? '';
        const s = this.#seen.get(name) ?? {};
        this.#seen.set(name, s);
        s.created ??= at;
        if ((c.spec.nodeName ?? '') !== '') s.bound ??= at;
        if (c.status?.phase === 'Running') s.running ??= at;
        if (c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True')) s.ready ??= at;
      },
      () => undefined,
    );
    this.#abort = () => req.abort();
  }

  /** One line per milestone: first, median and last replica to reach it. */
  report(): string {
    const all = [...this.#seen.values()];
    const line = (what: 'created' | 'bound' | 'running' | 'ready') => {
      const t = all.map((s) => s[what]).filter((x): x is number => x !== undefined);
      const s = [...t].sort((a, b) => a - b);
      return `  ${what.padEnd(8)} n=${t.length} first ${(s[0] ?? Number.NaN).toFixed(0)} median ${median(t).toFixed(0)} last ${(s.at(-1) ?? Number.NaN).toFixed(0)} ms`;
    };
    this.#seen.clear();
    return ['created', 'bound', 'running', 'ready'].map((w) => line(w as 'created')).join('\n');
  }

  stop(): void {
    this.#abort?.();
  }
}

/** Resolves once a watch on the Service sees `pred`. */
async function serviceUntil(kc: KubeConfig, name: string, pred: (s: Service) => boolean, timeoutMs = 120_000) {
  let abort: (() => void) | undefined;
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: not there within ${timeoutMs} ms`)), timeoutMs);
    void new Watch(kc)
      .watch(
        '/apis/berth.dev/v1alpha1/namespaces/default/services',
        { fieldSelector: `metadata.name=${name}` },
        (_type: string, obj: Service) => {
          if (pred(obj)) {
            clearTimeout(timer);
            resolve();
          }
        },
        () => undefined,
      )
      .then((req) => {
        abort = () => req.abort();
      });
  });
  return { done: done.finally(() => abort?.()) };
}

async function removeService(api: CustomObjectsApi, name: string): Promise<void> {
  // No garbage collector yet: the Service first (so nothing recreates them), then its Containers.
  await api.deleteNamespacedCustomObject({ ...svcPath, name });
  await api.deleteCollectionNamespacedCustomObject({ ...ctrPath, labelSelector: `app=${name}` });
  for (const until = Date.now() + 120_000; Date.now() < until; ) {
    const left = (await api.listNamespacedCustomObject({ ...ctrPath, labelSelector: `app=${name}` })) as {
      items: unknown[];
    };
    if (left.items.length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name}: Containers not gone within 120 s`);
}

async function readyBench(): Promise<void> {
  const cluster = await startAgentCluster({ entry, cpuProfDir });
  const { kc, image, peers } = cluster;
  const traced = new ReplicaTrace();
  const samples = {
    berth: [] as number[],
    berthCpu: [] as number[],
    podmanSerial: [] as number[],
    podmanParallel: [] as number[],
    crunParallel: [] as number[],
  };
  try {
    const api = kc.makeApiClient(CustomObjectsApi);
    // Warm-up: the image is pulled once, so every round measures it cached.
    const warm = await serviceUntil(kc, 'warm', (s) => s.status?.readyReplicas === 1);
    await api.createNamespacedCustomObject({ ...svcPath, body: service('warm', 1, image) });
    await warm.done;
    await removeService(api, 'warm');
    if (trace) await traced.start(kc);

    for (let round = 0; round < runs; round++) {
      const name = `bench-${round}`;
      const ready = await serviceUntil(kc, name, (s) => s.status?.readyReplicas === replicas);
      const requests0 = trace ? await apiRequests(cluster.berth) : undefined;
      const cpu0 = await cluster.berth.treeCpuSeconds();
      const t0 = performance.now();
      traced.t0 = t0;
      await api.createNamespacedCustomObject({ ...svcPath, body: service(name, replicas, image) });
      await ready.done;
      samples.berth.push(performance.now() - t0);
      samples.berthCpu.push((await cluster.berth.treeCpuSeconds()) - cpu0);
      traced.t0 = 0;
      if (trace) console.log(`round ${round} replicas (from the Service's create):\n${traced.report()}`);
      if (requests0 !== undefined)
        console.log(
          `  API requests per replica: ${perUnit(requests0, await apiRequests(cluster.berth), replicas, 0.1)}`,
        );
      await removeService(api, name);

      if (noPeers) {
        console.log(
          `round ${round}: berth ${samples.berth.at(-1)?.toFixed(0)} ms (CPU ${samples.berthCpu.at(-1)?.toFixed(2)} s)`,
        );
        continue;
      }
      let serial = 0;
      for (let i = 0; i < replicas; i++)
        serial += await peers.podman(`bench-${process.pid}-${round}-s${i}`, { network });
      samples.podmanSerial.push(serial);
      // All at once: each call times its own run from the common start, so the slowest is the wall time.
      const parallel = await Promise.all(
        Array.from({ length: replicas }, (_, i) => peers.podman(`bench-${process.pid}-${round}-p${i}`, { network })),
      );
      samples.podmanParallel.push(Math.max(...parallel));
      const crun = Math.max(
        ...(await Promise.all(
          Array.from({ length: replicas }, (_, i) => peers.crun(`bench-${process.pid}-${round}-c${i}`)),
        )),
      );
      samples.crunParallel.push(crun);
      console.log(
        `round ${round}: berth ${samples.berth.at(-1)?.toFixed(0)} ms (CPU ${samples.berthCpu.at(-1)?.toFixed(2)} s), podman serial ${serial.toFixed(0)} ms, podman parallel ${Math.max(...parallel).toFixed(0)} ms, crun parallel ${crun.toFixed(0)} ms`,
      );
    }
  } catch (err) {
    // Said before close(), whose own failure (a replica still mounted) would otherwise hide it.
    console.error('the benchmark failed:', err);
    throw err;
  } finally {
    traced.stop();
    await cluster.close();
  }
  console.log(
    `${replicas}-replica Service, busybox cached, create → readyReplicas ${replicas} (${runs} runs, medians)`,
  );
  console.log(
    `  berth up (API + service controller + node agent):   ${median(samples.berth).toFixed(0)} ms, CPU ${median(samples.berthCpu).toFixed(2)} s (berth's processes and the tools they reaped)`,
  );
  console.log(
    `  podman run -d × ${replicas}, one after another:         ${median(samples.podmanSerial).toFixed(0)} ms`,
  );
  console.log(
    `  podman run -d × ${replicas}, all at once:               ${median(samples.podmanParallel).toFixed(0)} ms`,
  );
  console.log(
    `  crun run -d × ${replicas}, all at once (no network):    ${median(samples.crunParallel).toFixed(0)} ms`,
  );
  if (!noPeers)
    console.log(
      `  network ${network}: berth / podman all at once ${(median(samples.berth) / median(samples.podmanParallel)).toFixed(2)}x, berth / crun all at once ${(median(samples.berth) / median(samples.crunParallel)).toFixed(2)}x`,
    );
}

async function resyncBench(): Promise<void> {
  const ts = await startTestServer({ controllers: false });
  const options = { kubeconfig: ts.kubeconfig, leaderElection: false, controllers: ['service'] } as const;
  try {
    const kc = ts.kubeConfig();
    const api = kc.makeApiClient(CustomObjectsApi);
    let ctl = await startControllers(options);
    const made = await serviceUntil(kc, 'many', (s) => s.status?.replicas === resyncReplicas, 600_000);
    const t0 = performance.now();
    await api.createNamespacedCustomObject({ ...svcPath, body: service('many', resyncReplicas, 'busybox') });
    await made.done;
    const createMs = performance.now() - t0;
    await ctl.close();
    const listRv = async () =>
      ((await api.listNamespacedCustomObject({ ...ctrPath })) as { metadata: { resourceVersion: string } }).metadata
        .resourceVersion;
    const before = await listRv();

    // A fresh manager: its first pass over the Service is the resync; then more passes, timed.
    ctl = await startControllers(options);
    const controller = ctl.controllers.get('service')!;
    const passes = 20;
    const cpu: number[] = [];
    const wall: number[] = [];
    for (let i = 0; i <= passes; i++) {
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      await new Promise<void>((resolve, reject) => {
        const off = controller.observe((req, outcome, err) => {
          if (req.name !== 'many') return;
          off();
          if (outcome === 'success' || outcome === 'requeue-after') resolve();
          else reject(err instanceof Error ? err : new Error(outcome));
        });
        controller.enqueue({ namespace: 'default', name: 'many' });
      });
      const used = process.cpuUsage(c0);
      if (i > 0) {
        cpu.push((used.user + used.system) / 1000);
        wall.push(performance.now() - w0);
      }
    }
    await ctl.close();
    const after = await listRv();
    console.log(
      `resync of a Service over ${resyncReplicas} unchanged Containers (no agent; API server in this process)`,
    );
    console.log(
      `  the controller created the ${resyncReplicas} replicas in           ${(createMs / 1000).toFixed(1)} s`,
    );
    console.log(
      `  writes during ${passes + 1} passes after a restart:               ${before === after ? 0 : `some (rv ${before} → ${after})`}`,
    );
    console.log(
      `  one pass: median wall ${median(wall).toFixed(1)} ms, CPU ${median(cpu).toFixed(1)} ms (server and controller share the process)`,
    );
  } finally {
    await ts.close();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/service-replicas needs root (crun, cgroups, overlay)');
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  await readyBench();
  if (!process.argv.includes('--no-resync')) await resyncBench();
}

await main();
