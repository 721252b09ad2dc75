// What networking adds to a container start: berth's runtime on a loopback-only namespace vs the same start after
// attaching to a CNI bridge (and with a published port), beside podman run -d with --network none vs its default
// bridge (and with -p), all in the same run.
//
//   node --import=tsx bench/container-start-network.ts [--runs N]
//
// Each sample times "network ready and container running" for one `sleep 1000` (berth: netns, then CNI ADD beside
// the runtime's create, then start, as the agent does), then removes it untimed; the
// teardown (CNI DEL + netns removal) is timed on its own. Peers alternate within each round so they share the
// machine's state. berth's bridge is a throwaway one (its own name and /24), removed at the end. Needs root.
// BENCH_VERBOSE=1 prints every sample.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, makeBusyboxRootfs } from '@berth/testkit';
import { prepareHost } from '../node-agent/src/host/prepare-host.js';
import { CniNetworks } from '../node-agent/src/network/cni-networks.js';
import type { NetworkDefinition } from '../node-agent/src/network/network.js';
import { ConmonRuntime } from '../node-agent/src/runtime/conmon-runtime.js';
import type { ContainerConfig } from '../node-agent/src/runtime/runtime.js';
import { startPeers } from './start-peers.js';
import { median } from './timing.js';

const execFileAsync = promisify(execFile);
const runsArg = process.argv.indexOf('--runs');
const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
const warmup = 2;
const verbose = process.env['BENCH_VERBOSE'] === '1';

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/container-start-network needs root (crun, cgroups, netns)');
  const host = await prepareHost();
  const work = await mkdtemp(join(tmpdir(), 'berth-bench-net-'));
  const rootfs = join(work, 'rootfs');
  await makeBusyboxRootfs(rootfs);
  const rt = new ConmonRuntime({ host, root: join(work, 'berth'), runtimeRoot: join(work, 'berth-run') });
  const networks = new CniNetworks({ stateDir: join(work, 'network'), netnsDir: join(work, 'netns') });
  const hex = randomBytes(2).toString('hex');
  const net: NetworkDefinition = {
    name: `bench-${hex}`,
    bridge: `bb${hex}`,
    subnet: `10.214.${randomBytes(1)[0] ?? 0}.0/24`,
  };
  const config: ContainerConfig = { args: ['sleep', '1000'], rootfs };
  const peers = startPeers(host, work, rootfs, config);

  const names = [
    'berth lo',
    'berth bridge',
    'berth bridge+port',
    'berth detach',
    'podman none',
    'podman bridge',
    'podman bridge+port',
  ] as const;
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<(typeof names)[number], number[]>;
  try {
    for (let round = 0; round < runs + warmup; round++) {
      const keep = round >= warmup;
      const id = `bnet-${process.pid}-${round}`;
      const row: Partial<Record<(typeof names)[number], number>> = {};

      let t0 = performance.now();
      await rt.run(`${id}-l`, config);
      row['berth lo'] = performance.now() - t0;
      await rt.delete(`${id}-l`, { force: true });

      for (const [key, ports] of [
        ['berth bridge', []],
        [
          'berth bridge+port',
          [{ hostPort: await freePort(), containerPort: 80, protocol: 'tcp' as const, hostIP: '127.0.0.1' }],
        ],
      ] as const) {
        const cid = `${id}-${ports.length === 0 ? 'n' : 'p'}`;
        // As the agent does: the namespace first, then the CNI ADD beside the runtime's create, then start.
        t0 = performance.now();
        const netns = await networks.sandbox(cid);
        await Promise.all([
          networks.attach(cid, { networks: [net], ports }),
          rt.create(cid, { ...config, network: { kind: 'namespace', path: netns } }),
        ]);
        await rt.start(cid);
        row[key] = performance.now() - t0;
        await rt.delete(cid, { force: true });
        t0 = performance.now();
        await networks.detach(cid);
        if (ports.length === 0) row['berth detach'] = performance.now() - t0;
      }

      row['podman none'] = await peers.podman(`${id}-pn`);
      row['podman bridge'] = await peers.podman(`${id}-pb`, { network: 'bridge' });
      row['podman bridge+port'] = await peers.podman(`${id}-pp`, {
        network: 'bridge',
        publish: `127.0.0.1:${await freePort()}:80`,
      });

      if (verbose)
        console.log(
          `round ${round}${keep ? '' : ' (warm-up)'}: ${names.map((n) => `${n} ${(row[n] ?? 0).toFixed(1)}`).join(', ')} ms`,
        );
      if (keep) for (const n of names) samples[n].push(row[n] ?? 0);
    }
  } finally {
    for (const s of await rt.list().catch(() => [])) await rt.delete(s.id, { force: true }).catch(() => undefined);
    for (const id of await networks.list().catch(() => [])) await networks.detach(id).catch(() => undefined);
    await execFileAsync('ip', ['link', 'del', net.bridge]).catch(() => undefined);
    await peers.cleanUp(`bnet-${process.pid}-`);
    await rm(work, { recursive: true, force: true });
  }
  const m = Object.fromEntries(names.map((n) => [n, median(samples[n])])) as Record<(typeof names)[number], number>;
  const load = (await import('node:os'))
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(
    `container start with and without networking (${runs} runs each, medians, load ${load}, ${host.runtime.version})`,
  );
  for (const n of names) console.log(`  ${n.padEnd(20)} ${m[n].toFixed(1)} ms`);
  const berthAdds = m['berth bridge'] - m['berth lo'];
  const podmanAdds = m['podman bridge'] - m['podman none'];
  console.log(
    `  networking adds: berth ${berthAdds.toFixed(1)} ms (goal ≤ 40), with a port ${(m['berth bridge+port'] - m['berth lo']).toFixed(1)} ms; podman ${podmanAdds.toFixed(1)} ms, with a port ${(m['podman bridge+port'] - m['podman none']).toFixed(1)} ms`,
  );
  console.log(`  ratio podman bridge / berth bridge: ${(m['podman bridge'] / m['berth bridge']).toFixed(2)}×`);
}

await main();
