// A 6-step Dockerfile build on the busybox base, cold (empty store and cache) and warm (unchanged rebuild): berth's
// Builder (the engine the node agent runs) side by side with `podman build` and `buildah bud --layers` (Debian's
// packages; a peer that is not installed is skipped, saying so), each with its own store, the same context and a
// loopback registry.
//
//   node --conditions=berth-src --import=tsx bench/image-build.ts [--runs N]
//
// Prints medians and ratios (goals: warm faster than the peer's, cold ≤ 1.5×). BENCH_VERBOSE=1 prints samples.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '@berth/testkit';
import { Builder } from '../node-agent/src/build/builder.js';
import { prepareHost } from '../node-agent/src/host/prepare-host.js';
import { ImageStore } from '../node-agent/src/images/image-store.js';
import { ConmonRuntime } from '../node-agent/src/runtime/conmon-runtime.js';
import { OverlaySnapshotter } from '../node-agent/src/snapshots/overlay.js';
import { median } from './timing.js';

const execFileAsync = promisify(execFile);
const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

const port = await freePort();
const work = await mkdtemp(join(tmpdir(), 'berth-bench-build-'));
const registryArgs = ['--port', String(port), '--dir', join(work, 'registry')];
const host = await prepareHost();
const podmanGlobal = ['--cgroup-manager=cgroupfs', '--events-backend=file'];
// podman asks for rlimits above root's own hard limits here unless told; these match what berth sets.
const limits = ['--ulimit', `nofile=${host.nofileHardLimit}:${host.nofileHardLimit}`, '--ulimit', 'nproc=4096:4096'];

async function onPath(command: string): Promise<boolean> {
  return execFileAsync('sh', ['-c', `command -v ${command}`]).then(
    () => true,
    () => false,
  );
}

async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await execFileAsync('umount', ['-l', m]).catch(() => undefined);
}

try {
  await execFileAsync(join(repo, 'hack', 'registry.sh'), ['start', ...registryArgs]);
  await execFileAsync(join(repo, 'hack', 'busybox-image.sh'), [`127.0.0.1:${port}`], {
    env: { ...process.env, BERTH_BUSYBOX_OCI: join(work, 'layout') },
  });
  const base = `127.0.0.1:${port}/library/busybox:latest`;
  const context = await mkdtemp(join(work, 'context-'));
  await writeFile(
    join(context, 'Dockerfile'),
    `FROM ${base}
ENV APP=bench
WORKDIR /app
COPY a.txt ./
RUN echo built > /app/built.txt
RUN cat a.txt built.txt > all.txt
CMD ["cat", "/app/all.txt"]
`,
  );
  await writeFile(join(context, 'a.txt'), 'some input\n');
  // `podman build` and `buildah bud` (the same engine, two front ends; buildah only with --layers caches steps).
  const build = ['--tls-verify=false', '--network=none', ...limits, '-q', '-t', 'bench/app:1'];
  const peers = [
    {
      name: 'podman',
      label: 'podman build',
      available: await onPath('podman'),
      build: (storage: string[]) => execFileAsync('podman', [...podmanGlobal, ...storage, 'build', ...build, context]),
      reset: (storage: string[]) =>
        execFileAsync('podman', [...podmanGlobal, ...storage, 'system', 'reset', '-f']).catch(() => undefined),
    },
    {
      name: 'buildah',
      label: 'buildah bud',
      available: await onPath('buildah'),
      build: (storage: string[]) => execFileAsync('buildah', [...storage, 'bud', '--layers', ...build, context]),
      reset: (storage: string[]) => execFileAsync('buildah', [...storage, 'rmi', '-a', '-f']).catch(() => undefined),
    },
  ];
  for (const peer of peers)
    if (!peer.available) console.log(`skipping the ${peer.label} peer: ${peer.name} is not installed`);
  const samples: Record<string, number[]> = { berthCold: [], berthWarm: [] };
  for (const peer of peers) {
    samples[`${peer.name}Cold`] = [];
    samples[`${peer.name}Warm`] = [];
  }
  for (let i = 0; i < runs; i++) {
    // berth: a fresh data root (so the base is pulled and every step runs), then the same build again.
    const root = await mkdtemp(join(work, 'berth-'));
    const images = new ImageStore({ root });
    const builder = new Builder({
      root,
      images,
      snapshots: new OverlaySnapshotter(join(root, 'build')),
      runtime: new ConmonRuntime({ host, root: join(root, 'build'), runtimeRoot: join(root, 'run') }),
    });
    let t0 = performance.now();
    const cold = await builder.build({ context, tags: ['bench/app:1'] });
    samples.berthCold?.push(performance.now() - t0);
    t0 = performance.now();
    const warm = await builder.build({ context, tags: ['bench/app:1'] });
    samples.berthWarm?.push(performance.now() - t0);
    if (warm.steps.some((s) => s.cached === false) || cold.steps.some((s) => s.cached === true))
      throw new Error('berth: the cold build took a cached step or the warm one ran a step');
    await images.close();
    await unmountUnder(root);
    await rm(root, { recursive: true, force: true });

    // The peers: each with its own storage root each run, the same context; the second build is all cache.
    for (const peer of peers) {
      if (!peer.available) continue;
      const proot = await mkdtemp(join(work, `${peer.name}-`));
      const storage = ['--root', join(proot, 'root'), '--runroot', join(proot, 'run'), '--storage-driver', 'overlay'];
      t0 = performance.now();
      await peer.build(storage);
      samples[`${peer.name}Cold`]?.push(performance.now() - t0);
      t0 = performance.now();
      await peer.build(storage);
      samples[`${peer.name}Warm`]?.push(performance.now() - t0);
      await peer.reset(storage);
      await unmountUnder(proot);
      await rm(proot, { recursive: true, force: true });
    }
  }
  if (process.env.BENCH_VERBOSE)
    for (const [name, xs] of Object.entries(samples)) console.log(name, xs.map((x) => x.toFixed(0)).join(' '));
  const bc = median(samples.berthCold ?? []);
  const bw = median(samples.berthWarm ?? []);
  console.log(
    `image build, 6 steps on busybox (${runs} runs each, medians, loopback registry, machine load ${(await readFile('/proc/loadavg', 'utf8')).split(' ')[0]})`,
  );
  console.log(
    `  berth: cold (empty store, base pulled, every step run) ${bc.toFixed(0)} ms, warm (unchanged rebuild) ${bw.toFixed(0)} ms`,
  );
  for (const peer of peers) {
    if (!peer.available) continue;
    const pc = median(samples[`${peer.name}Cold`] ?? []);
    const pw = median(samples[`${peer.name}Warm`] ?? []);
    console.log(
      `  vs ${peer.label}: cold ${pc.toFixed(0)} ms, ratio ${(bc / pc).toFixed(2)}× (goal ≤ 1.5×); warm ${pw.toFixed(0)} ms, ratio ${(bw / pw).toFixed(2)}× (goal < 1×)`,
    );
  }
} finally {
  await execFileAsync(join(repo, 'hack', 'registry.sh'), ['stop', ...registryArgs]).catch(() => {});
  await unmountUnder(work);
  await rm(work, { recursive: true, force: true });
}
