// Container start through the API: create a busybox Container → status.phase Running seen by a watch, with
// `berth up` (API server + node agent, its own process) and the image already on the node; side by side in each
// round with bare `crun run -d` of a prepared bundle and `podman run -d --rootfs` of the same busybox.
//
//   npx tsc -b && node --conditions=berth-src --import=tsx bench/container-start-api.ts [--runs N] [--entry built|src]
//
// berth's sample covers everything a user waits for: the create request, the agent's watch event, binding and
// finalizer, image policy check, overlay mount, OCI spec, conmon + crun create/start, the status write and the
// watch event back. Two berth lines: imagePullPolicy IfNotPresent (no registry request) and Always (the default
// for :latest: one manifest request to the loopback registry). Deletes are untimed. Needs root.
// BENCH_VERBOSE=1 prints every sample.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import type { Container } from '@berth/api';
import { prepareHost } from '../node-agent/src/host/prepare-host.js';
import type { ContainerConfig } from '../node-agent/src/runtime/runtime.js';
import { freePort, makeBusyboxRootfs } from '@berth/testkit';
import { startBerth } from './api-process.js';
import { startPeers } from './start-peers.js';
import { median } from './timing.js';

const execFileAsync = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const runs = Number(arg('--runs') ?? 15);
const entry = arg('--entry') === 'src' ? 'src' : 'built';
const warmup = 2;
const verbose = process.env['BENCH_VERBOSE'] === '1';

/** Resolves waiters when the watch sees a Container reach a phase, or vanish. */
class PhaseWatch {
  readonly #waiters = new Map<string, { until: (c: Container | undefined) => boolean; resolve: () => void }>();
  #abort: (() => void) | undefined;

  async start(kc: KubeConfig): Promise<void> {
    const req = await new Watch(kc).watch(
      '/apis/berth.dev/v1alpha1/namespaces/default/containers',
      {},
      (type: string, obj: Container) => {
        const name = obj.metadata.name ?? '';
        const w = this.#waiters.get(name);
        if (w?.until(type === 'DELETED' ? undefined : obj)) {
          this.#waiters.delete(name);
          w.resolve();
        }
      },
      (err: unknown) => {
        if (err !== null && err !== undefined && this.#abort !== undefined)
          process.stderr.write(`watch ended: ${String(err)}\n`);
      },
    );
    this.#abort = () => req.abort();
  }

  until(name: string, pred: (c: Container | undefined) => boolean, timeoutMs = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: not there within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.set(name, {
        until: pred,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  stop(): void {
    const abort = this.#abort;
    this.#abort = undefined;
    abort?.();
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/container-start-api needs root (crun, cgroups, overlay)');
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const host = await prepareHost();
  const work = await mkdtemp(join(tmpdir(), 'berth-bench-start-api-'));
  const registryPort = await freePort();
  const registryDir = join(work, 'registry');
  await execFileAsync(join(repo, 'hack', 'registry.sh'), [
    'start',
    '--port',
    String(registryPort),
    '--dir',
    registryDir,
  ]);
  const berth = await startBerth({ agent: true, entry });
  const rootfs = join(work, 'rootfs');
  const config: ContainerConfig = { args: ['sleep', '1000'], rootfs };
  const peers = startPeers(host, work, rootfs, config);
  const watch = new PhaseWatch();
  const samples = {
    ifNotPresent: [] as number[],
    always: [] as number[],
    crun: [] as number[],
    podman: [] as number[],
  };
  try {
    await execFileAsync(join(repo, 'hack', 'busybox-image.sh'), [`127.0.0.1:${registryPort}`], {
      env: { ...process.env, BERTH_BUSYBOX_OCI: join(work, 'oci') },
    });
    const image = `127.0.0.1:${registryPort}/library/busybox:latest`;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'berth', server: berth.url, caData: Buffer.from(berth.caCert).toString('base64') }],
      users: [{ name: 'admin', token: berth.token }],
      contexts: [{ name: 'berth', cluster: 'berth', user: 'admin' }],
      currentContext: 'berth',
    });
    const api = kc.makeApiClient(CustomObjectsApi);
    const target = { group: 'berth.dev', version: 'v1alpha1', namespace: 'default', plural: 'containers' };
    // The node agent starts after /readyz: wait for its Node to be Ready.
    for (const until = Date.now() + 30_000; ; ) {
      const nodes = await kc.makeApiClient(CoreV1Api).listNode();
      if (nodes.items.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) break;
      if (Date.now() > until) throw new Error('the node agent did not register a Ready Node within 30 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    await watch.start(kc);

    await makeBusyboxRootfs(rootfs);

    const viaApi = async (name: string, pullPolicy: 'IfNotPresent' | 'Always'): Promise<number> => {
      const running = watch.until(name, (c) => c?.status?.phase === 'Running');
      const t0 = performance.now();
      await api.createNamespacedCustomObject({
        ...target,
        body: {
          apiVersion: 'berth.dev/v1alpha1',
          kind: 'Container',
          metadata: { name },
          spec: { image, imagePullPolicy: pullPolicy, command: ['sleep', '1000'], terminationGracePeriodSeconds: 0 },
        },
      });
      await running;
      const ms = performance.now() - t0;
      const gone = watch.until(name, (c) => c === undefined);
      await api.deleteNamespacedCustomObject({ ...target, name });
      await gone;
      return ms;
    };

    for (let round = 0; round < runs + warmup; round++) {
      const keep = round >= warmup;
      const id = `bench-${process.pid}-${round}`;
      const ifNotPresentMs = await viaApi(`${id}-i`, 'IfNotPresent');
      const alwaysMs = await viaApi(`${id}-a`, 'Always');

      const crunMs = await peers.crun(`${id}-c`);
      const podmanMs = await peers.podman(`${id}-p`);

      if (verbose) {
        console.log(
          `round ${round}${keep ? '' : ' (warm-up)'}: api/IfNotPresent ${ifNotPresentMs.toFixed(1)} ms, api/Always ${alwaysMs.toFixed(1)} ms, crun ${crunMs.toFixed(1)} ms, podman ${podmanMs.toFixed(1)} ms`,
        );
      }
      if (keep) {
        samples.ifNotPresent.push(ifNotPresentMs);
        samples.always.push(alwaysMs);
        samples.crun.push(crunMs);
        samples.podman.push(podmanMs);
      }
    }
  } finally {
    watch.stop();
    // berth's agent removes its containers as their Containers go; SIGTERM leaves any survivor to the next start,
    // so a failed round's leftovers are removed through the runtime's own tools below.
    await berth.close();
    await peers.cleanUp(`bench-${process.pid}-`);
    await execFileAsync(join(repo, 'hack', 'registry.sh'), [
      'stop',
      '--port',
      String(registryPort),
      '--dir',
      registryDir,
    ]).catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
  const i = median(samples.ifNotPresent);
  const a = median(samples.always);
  const c = median(samples.crun);
  const p = median(samples.podman);
  console.log(
    `container start, busybox, loopback-only network (${runs} runs each, medians, ${host.runtime.version}, ${host.conmon.version})`,
  );
  console.log(`  berth: create Container → Running by watch, IfNotPresent:  ${i.toFixed(1)} ms`);
  console.log(`  berth: create Container → Running by watch, Always:        ${a.toFixed(1)} ms`);
  console.log(`  bare crun run -d (prepared bundle):                        ${c.toFixed(1)} ms`);
  console.log(`  podman run -d --rootfs:                                    ${p.toFixed(1)} ms`);
  console.log(
    `  ratio berth(IfNotPresent) / crun: ${(i / c).toFixed(2)}× (goal ≤ 3×); podman / berth: ${(p / i).toFixed(2)}× (goal ≥ 5×)`,
  );
  console.log(
    `  ratio berth(Always) / crun:       ${(a / c).toFixed(2)}×;              podman / berth: ${(p / a).toFixed(2)}×`,
  );
}

await main();
