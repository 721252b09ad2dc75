// Benchmark of durable creates through the full HTTPS API: POSTs of a ~1 KB Container by 1, 16 and 64
// concurrent keep-alive clients against `berth up` in its own process, side by side with Debian's etcd taking
// puts of the same payloads through etcd3 from the same load generator; prints creates/s, p50/p99 and the ratio.
// Not a test: run with
//   node --conditions=berth-src --import=tsx bench/api-creates.ts [--seconds 5] [--entry built|src]
//        [--concurrency 1,16,64] [--pin] [--cpu-prof DIR] [--server-node-arg=FLAG]... [--up-arg=ARG]...
//        [--baseline OTHER_CHECKOUT [--rounds 3]]

import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  col,
  container,
  containersPath,
  httpsPool,
  metricCounts,
  ownCpuSeconds,
  perUnit,
  quantile,
  startBerth,
  type BerthProcess,
} from './api-process.js';
import { startEtcd, type EtcdPeer } from './etcd-peer.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    entry: { type: 'string', default: 'built' },
    // Passed to the server's node, e.g. --server-node-arg=--max-semi-space-size=2 (repeatable).
    'server-node-arg': { type: 'string', multiple: true, default: [] },
    // Passed to `berth up` (repeatable).
    'up-arg': { type: 'string', multiple: true, default: [] },
    concurrency: { type: 'string', default: '1,16,64' },
    // Server and etcd on CPU 0, the load generator on CPU 1, so neither steals the other's core.
    pin: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    // Another checkout (built) to measure beside this one: its rows and this one's alternate, --rounds times.
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '3' },
  },
});
const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new RangeError('--seconds must be a positive number');
if (values.entry !== 'built' && values.entry !== 'src') throw new RangeError('--entry must be built or src');
const concurrencies = values.concurrency.split(',').map(Number);
// Each row first runs unmeasured for ROW_WARMUP_MS (connections, steady state); before the table both servers take
// WARMUP_MS of 64-client load so the JIT has compiled the hot paths (a row at 1 client would not get there).
const WARMUP_MS = 2000;
const ROW_WARMUP_MS = 500;

interface Row {
  readonly ops: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU cores the server (or etcd) and the load generator kept busy while measuring. */
  readonly serverCores: number;
  readonly clientCores: number;
}

/** `concurrency` loops each issuing one write at a time: a warm-up, then `seconds` measured. */
async function drive(
  concurrency: number,
  serverCpu: () => Promise<number>,
  write: (name: string) => Promise<void>,
  prefix: string,
  warmupMs = ROW_WARMUP_MS,
  measureSeconds = seconds,
): Promise<Row> {
  let seq = 0;
  const loops = async (until: number, latencies: number[] | undefined): Promise<void> => {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          const name = `${prefix}-${seq++}`;
          const t0 = performance.now();
          await write(name);
          latencies?.push(performance.now() - t0);
        }
      }),
    );
  };
  await loops(performance.now() + warmupMs, undefined);
  const latencies: number[] = [];
  const [server0, client0] = [await serverCpu(), ownCpuSeconds()];
  const begin = performance.now();
  await loops(begin + measureSeconds * 1000, latencies);
  const elapsed = (performance.now() - begin) / 1000;
  const [server1, client1] = [await serverCpu(), ownCpuSeconds()];
  latencies.sort((a, b) => a - b);
  return {
    ops: latencies.length,
    perSecond: latencies.length / elapsed,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    serverCores: (server1 - server0) / elapsed,
    clientCores: (client1 - client0) / elapsed,
  };
}

const perOp = (r: Row): number => (r.serverCores * 1e6) / r.perSecond;

/** berth's store requests so far by operation (its /metrics etcd_request_duration_seconds counts, every type). */
const storeRequests = (berth: BerthProcess): Promise<Map<string, number>> =>
  metricCounts(
    berth,
    /^etcd_request_duration_seconds_count\{([^}]*)\} (\S+)$/gm,
    (labels) => `${labels.get('operation')} ${labels.get('type')}`,
  );

/** berth's durable syncs so far: how many, the seconds they took, the writes they carried (its /metrics). */
async function syncTotals(berth: BerthProcess): Promise<{ syncs: number; seconds: number; writes: number }> {
  const total = async (name: string): Promise<number> =>
    (await metricCounts(berth, new RegExp(`^${name}()\\s(\\S+)$`, 'gm'), () => name)).get(name) ?? 0;
  return {
    syncs: await total('etcd_disk_wal_fsync_duration_seconds_count'),
    seconds: await total('etcd_disk_wal_fsync_duration_seconds_sum'),
    writes: await total('apiserver_storage_batch_writes_sum'),
  };
}

async function berthRow(berth: BerthProcess, concurrency: number, warmup?: number, round = 0): Promise<Row> {
  const pool = httpsPool(berth, concurrency);
  const headers = {
    authorization: `Bearer ${berth.token}`,
    'content-type': 'application/json',
    accept: 'application/json',
  };
  try {
    return await drive(
      concurrency,
      () => berth.cpuSeconds(),
      async (name) => {
        const res = await pool.request({
          method: 'POST',
          path: containersPath,
          headers,
          body: JSON.stringify(container(name)),
        });
        const text = await res.body.text();
        if (res.statusCode !== 201) throw new Error(`POST ${name}: ${res.statusCode} ${text.slice(0, 300)}`);
      },
      warmup === undefined ? `c${concurrency}${round === 0 ? '' : `r${round}`}` : 'warm',
      warmup,
      warmup === undefined ? seconds : 0.1,
    );
  } finally {
    await pool.close();
  }
}

async function etcdRow(etcd: EtcdPeer, concurrency: number, warmup?: number): Promise<Row> {
  return drive(
    concurrency,
    () => etcd.cpuSeconds(),
    async (name) => {
      await etcd.client.put(`/registry/berth.dev/containers/default/${name}`).value(JSON.stringify(container(name)));
    },
    warmup === undefined ? `c${concurrency}` : 'warm',
    warmup,
    warmup === undefined ? seconds : 0.1,
  );
}

/**
 * This checkout's berth against `--baseline`'s, both running, rows alternated (baseline first) `--rounds` times
 * per concurrency: the load of the machine then falls on both alike. Prints each pair, then the medians.
 */
async function compareBaseline(baselineRepo: string): Promise<void> {
  const server = values.pin ? { cpus: '0' } : {};
  const common = {
    entry: values.entry as 'built' | 'src',
    nodeArgs: values['server-node-arg'],
    upArgs: values['up-arg'],
    ...server,
  };
  const sides = [
    { name: 'baseline', berth: await startBerth({ ...common, repo: baselineRepo }) },
    { name: 'this', berth: await startBerth(common) },
  ];
  try {
    console.log(
      `before/after in one run: baseline ${baselineRepo} (pid ${sides[0]?.berth.pid}) vs this checkout (pid ${sides[1]?.berth.pid}), ${seconds} s rows alternated`,
    );
    console.log(
      `load average before: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    for (const side of sides) await berthRow(side.berth, 64, WARMUP_MS);
    console.log('clients round |  side     creates/s  p50 ms  p99 ms srv cpu us/op');
    const rounds = Number(values.rounds);
    for (const c of concurrencies) {
      const rows = new Map<string, Row[]>(sides.map((s) => [s.name, []]));
      for (let r = 0; r < rounds; r++) {
        for (const side of sides) {
          const row = await berthRow(side.berth, c, undefined, r + 1);
          rows.get(side.name)?.push(row);
          console.log(
            `${col(c, 7)} ${col(r + 1, 5)} | ${side.name.padEnd(8)} ${col(row.perSecond, 10)} ${col(row.p50, 7, 2)} ${col(row.p99, 7, 2)} ${col(row.serverCores, 7, 2)} ${col(perOp(row), 5)}`,
          );
        }
      }
      const median = (side: string, of: (r: Row) => number): number =>
        quantile(
          (rows.get(side) ?? []).map(of).sort((a, b) => a - b),
          0.5,
        );
      const [b, t] = [median('baseline', (r) => r.perSecond), median('this', (r) => r.perSecond)];
      const [bu, tu] = [median('baseline', perOp), median('this', perOp)];
      const [bp, tp] = [median('baseline', (r) => r.p99), median('this', (r) => r.p99)];
      console.log(
        `medians @${c}: creates/s baseline ${b.toFixed(0)}, this ${t.toFixed(0)} (${(t / b).toFixed(2)}x); us/op ${bu.toFixed(0)} -> ${tu.toFixed(0)} (${(tu / bu).toFixed(2)}x); p99 ${bp.toFixed(1)} -> ${tp.toFixed(1)} ms`,
      );
    }
  } finally {
    for (const side of sides) await side.berth.close();
  }
}

async function main(): Promise<void> {
  if (values.baseline !== undefined) {
    if (values.pin) execFileSync('/usr/bin/taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
    return compareBaseline(values.baseline);
  }
  if (values.pin) execFileSync('/usr/bin/taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const server = values.pin ? { cpus: '0' } : {};
  const berth = await startBerth({
    entry: values.entry as 'built' | 'src',
    nodeArgs: values['server-node-arg'],
    upArgs: values['up-arg'],
    ...server,
    ...(values['cpu-prof'] === undefined ? {} : { cpuProfDir: values['cpu-prof'] }),
  });
  let etcd: EtcdPeer | undefined;
  try {
    etcd = await startEtcd(server);
    const bytes = JSON.stringify(container('c64-100000')).length;
    console.log(
      `durable creates of a ${bytes} B Container: berth (${values.entry}, pid ${berth.pid}) POST over HTTPS vs etcd ${etcd.url} put via etcd3; ` +
        `${seconds} s per row after ${ROW_WARMUP_MS} ms warm-up (${WARMUP_MS} ms at 64 before the table); ${values.pin ? 'server/etcd pinned to CPU 0, load generator to CPU 1' : 'unpinned, 2 cores shared'}`,
    );
    console.log(
      `load average before: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} (other work on this machine skews every figure)`,
    );
    console.log(
      'clients |  berth/s  p50 ms  p99 ms srv cpu us/op cli cpu |   etcd/s  p50 ms  p99 ms srv cpu us/op cli cpu | berth/etcd',
    );
    await berthRow(berth, 64, WARMUP_MS);
    await etcdRow(etcd, 64, WARMUP_MS);
    const lines: string[] = [];
    for (const c of concurrencies) {
      const before = await storeRequests(berth);
      const syncsBefore = await syncTotals(berth);
      const b = await berthRow(berth, c);
      const after = await storeRequests(berth);
      const syncsAfter = await syncTotals(berth);
      // The row's creates, its warm-up's included (ops counts the measured ones; ROW_WARMUP_MS ran at about that rate).
      const creates =
        (after.get('create containers.berth.dev') ?? 0) - (before.get('create containers.berth.dev') ?? 0);
      lines.push(
        `store requests per create @${c} (berth's /metrics, controllers' writes included): ${perUnit(before, after, creates, 0.01)}`,
      );
      const syncs = syncsAfter.syncs - syncsBefore.syncs;
      // The 1-client latency is this fsync plus the server's CPU for the request: the sync is the floor.
      lines.push(
        `durable syncs @${c}: ${syncs} (${((syncsAfter.writes - syncsBefore.writes) / Math.max(syncs, 1)).toFixed(1)} writes each), mean fsync ${((1000 * (syncsAfter.seconds - syncsBefore.seconds)) / Math.max(syncs, 1)).toFixed(2)} ms`,
      );
      const e = await etcdRow(etcd, c);
      console.log(
        `${col(c, 7)} | ${col(b.perSecond, 8)} ${col(b.p50, 7, 2)} ${col(b.p99, 7, 2)} ${col(b.serverCores, 7, 2)} ${col(perOp(b), 5)} ${col(b.clientCores, 7, 2)} |` +
          ` ${col(e.perSecond, 8)} ${col(e.p50, 7, 2)} ${col(e.p99, 7, 2)} ${col(e.serverCores, 7, 2)} ${col(perOp(e), 5)} ${col(e.clientCores, 7, 2)} | ${col(b.perSecond / e.perSecond, 9, 2)}x`,
      );
      lines.push(
        `creates/s @${c}: berth ${b.perSecond.toFixed(0)}, etcd ${e.perSecond.toFixed(0)}, ratio ${(b.perSecond / e.perSecond).toFixed(2)}x (berth p99 ${b.p99.toFixed(1)} ms)`,
      );
    }
    console.log(
      '(srv cpu / cli cpu: CPU cores kept busy during the row by the server process (berth or etcd) and by this load generator; us/op: server CPU per write)',
    );
    for (const l of lines) console.log(l);
    const last = concurrencies.includes(64);
    if (last) console.log('goals @64: >= 5000 creates/s, p99 <= 20 ms, >= 3x etcd');
  } finally {
    await etcd?.close();
    await berth.close();
  }
}

await main();
