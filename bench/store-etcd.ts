// Benchmark of berth on etcd against berth on its embedded store and against bare etcd, in one run: durable
// creates/s of a ~1 KB Container through the HTTPS API at 1, 16 and 64 clients (bare etcd: puts via etcd3), and
// the watch delivery latency of those writes (create acknowledged -> event read on a watch).
// Not a test: run with
//   node --conditions=berth-src --import=tsx bench/store-etcd.ts [--seconds 3] [--concurrency 1,16,64] [--entry built|src]

import { request as httpsRequest } from 'node:https';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { col, container, containersPath, httpsPool, quantile, startBerth, type BerthProcess } from './api-process.js';
import { startEtcd, type EtcdPeer } from './etcd-peer.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    entry: { type: 'string', default: 'built' },
    concurrency: { type: 'string', default: '1,16,64' },
  },
});
const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new RangeError('--seconds must be a positive number');
if (values.entry !== 'built' && values.entry !== 'src') throw new RangeError('--entry must be built or src');
const entry = values.entry;
const concurrencies = values.concurrency.split(',').map(Number);

interface Row {
  readonly perSecond: number;
  readonly p99: number;
  /** Create acknowledged -> the watch event read, p50 and p99 (ms). */
  readonly watchP50: number;
  readonly watchP99: number;
}

/** Where writes go and where their events come back. */
interface Target {
  write(name: string): Promise<void>;
  /** Calls `onEvent(name)` for each created object; resolves once watching; returns a stop function. */
  watch(onEvent: (name: string) => void): Promise<() => void>;
}

async function drive(target: Target, concurrency: number, prefix: string): Promise<Row> {
  const acked = new Map<string, number>();
  const delivery: number[] = [];
  const pending = new Map<string, number>();
  const stop = await target.watch((name) => {
    const at = acked.get(name);
    if (at !== undefined) delivery.push(performance.now() - at);
    else pending.set(name, performance.now());
  });
  const latencies: number[] = [];
  let seq = 0;
  const begin = performance.now();
  const until = begin + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const name = `${prefix}-${seq++}`;
        const t0 = performance.now();
        await target.write(name);
        const t1 = performance.now();
        latencies.push(t1 - t0);
        // The event may come before the response: then it was delivered "before" the ack, count it as 0.
        const early = pending.get(name);
        if (early !== undefined) delivery.push(0);
        else acked.set(name, t1);
      }
    }),
  );
  const elapsed = (performance.now() - begin) / 1000;
  // Give the last events a moment to arrive.
  for (const deadline = Date.now() + 2000; delivery.length < latencies.length && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 10));
  }
  stop();
  latencies.sort((a, b) => a - b);
  delivery.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / elapsed,
    p99: quantile(latencies, 0.99),
    watchP50: quantile(delivery, 0.5),
    watchP99: quantile(delivery, 0.99),
  };
}

function berthTarget(berth: BerthProcess, concurrency: number): Target & { close(): Promise<void> } {
  const pool = httpsPool(berth, concurrency);
  const headers = { authorization: `Bearer ${berth.token}`, 'content-type': 'application/json' };
  return {
    async write(name) {
      const res = await pool.request({
        method: 'POST',
        path: containersPath,
        headers,
        body: JSON.stringify(container(name)),
      });
      const text = await res.body.text();
      if (res.statusCode !== 201) throw new Error(`POST ${name}: ${res.statusCode} ${text.slice(0, 300)}`);
    },
    async watch(onEvent) {
      const list = await pool.request({ method: 'GET', path: containersPath, headers });
      const rv = (JSON.parse(await list.body.text()) as { metadata: { resourceVersion: string } }).metadata
        .resourceVersion;
      return new Promise((resolve, reject) => {
        const req = httpsRequest(
          new URL(`${containersPath}?watch=true&resourceVersion=${rv}`, berth.url),
          { headers, ca: berth.caCert },
          (res) => {
            let buffered = '';
            res.on('data', (d: Buffer) => {
              buffered += d.toString();
              let nl = buffered.indexOf('\n');
              while (nl >= 0) {
                const line = buffered.slice(0, nl);
                buffered = buffered.slice(nl + 1);
                if (line.trim() !== '') {
                  const e = JSON.parse(line) as { type: string; object: { metadata: { name: string } } };
                  if (e.type === 'ADDED') onEvent(e.object.metadata.name);
                }
                nl = buffered.indexOf('\n');
              }
            });
            resolve(() => req.destroy());
          },
        );
        req.on('error', (e) => (req.destroyed ? undefined : reject(e)));
        req.end();
      });
    },
    close: () => pool.close(),
  };
}

function etcdTarget(etcd: EtcdPeer): Target {
  const prefix = '/bare/registry/berth.dev/containers/default/';
  return {
    async write(name) {
      await etcd.client.put(`${prefix}${name}`).value(JSON.stringify(container(name)));
    },
    async watch(onEvent) {
      const watcher = await etcd.client.watch().prefix(prefix).create();
      watcher.on('put', (kv) => onEvent(kv.key.toString().slice(prefix.length)));
      return () => void watcher.cancel();
    },
  };
}

async function main(): Promise<void> {
  const etcd = await startEtcd();
  const endpoint = new URL(etcd.url).host;
  const level = await startBerth({ entry });
  const onEtcd = await startBerth({ entry, upArgs: ['--store', `etcd://${endpoint}/berth/`] });
  try {
    console.log(
      `durable creates of a ~1 KB Container, ${seconds} s per row: berth on its embedded store and berth on etcd ` +
        `(${etcd.url}, key prefix /berth/) POST over HTTPS; bare etcd puts via etcd3; watch = create acknowledged -> ` +
        `event read on one watch stream`,
    );
    console.log(
      `load average before: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} (other work on this machine skews every figure)`,
    );
    console.log(
      'clients | level: /s p99 ms watch p50/p99 ms | berth on etcd: /s p99 ms watch p50/p99 | bare etcd: /s p99 ms watch p50/p99 | etcd-store/level',
    );
    for (const c of concurrencies) {
      const lt = berthTarget(level, c);
      const et = berthTarget(onEtcd, c);
      const l = await drive(lt, c, `l${c}`);
      const e = await drive(et, c, `e${c}`);
      const b = await drive(etcdTarget(etcd), c, `b${c}`);
      await lt.close();
      await et.close();
      const cells = (r: Row): string =>
        `${col(r.perSecond, 6)} ${col(r.p99, 6, 1)} ${col(r.watchP50, 6, 1)}/${col(r.watchP99, 6, 1)}`;
      console.log(`${col(c, 7)} | ${cells(l)} | ${cells(e)} | ${cells(b)} | ${col(e.perSecond / l.perSecond, 6, 2)}x`);
    }
  } finally {
    await onEtcd.close();
    await level.close();
    await etcd.close();
  }
}

await main();
