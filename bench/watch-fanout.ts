// Benchmark of watch fan-out through the full HTTPS API: many concurrent watch streams on the Containers
// collection of `berth up` (its own process) while a writer creates objects at a fixed rate; measures delivery
// latency (create acknowledged -> event read by a watcher) and, as the peer, the same with etcd3 watchers on
// Debian's etcd under the same writes. Not a test: run with
//   node --conditions=berth-src --import=tsx bench/watch-fanout.ts [--watchers 1000] [--rate 1000] [--seconds 5]
//        [--per-node] [--entry built|src] [--only berth|etcd] [--cpu-prof DIR] [--server-node-arg=FLAG]... [--up-arg=ARG]...
// By default every watcher sees every write (watchers x rate deliveries/s). --per-node gives each watcher a field
// selector spec.nodeName=node-I (etcd: a key prefix per node) and spreads the writes over the nodes, as node
// agents watch their own Containers: one delivery per write.

import { setMaxListeners } from 'node:events';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Pool, type Dispatcher } from 'undici';
import {
  col,
  container,
  containersPath,
  httpsPool,
  ownCpuSeconds,
  quantile,
  startBerth,
  type BerthProcess,
} from './api-process.js';
import { startEtcd, type EtcdPeer } from './etcd-peer.js';

const { values } = parseArgs({
  options: {
    watchers: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '5' },
    'per-node': { type: 'boolean', default: false },
    entry: { type: 'string', default: 'built' },
    // Passed to the server's node, e.g. --server-node-arg=--max-semi-space-size=2 (repeatable).
    'server-node-arg': { type: 'string', multiple: true, default: [] },
    // Passed to `berth up` (repeatable).
    'up-arg': { type: 'string', multiple: true, default: [] },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const watchers = Number(values.watchers);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const perNode = values['per-node'];
if (!(watchers > 0 && rate > 0 && seconds > 0))
  throw new RangeError('--watchers, --rate and --seconds must be positive');
if (values.entry !== 'built' && values.entry !== 'src') throw new RangeError('--entry must be built or src');
/** After the last write, how long watchers may take to catch up before what is missing counts as lost. */
const DRAIN_MS = 10_000;
/** Watch streams being opened at once. */
const OPEN_AT_ONCE = 64;
const SENT = 'bench.berth.dev/sent';
const marker = `"${SENT}":"`;
// Every watcher counts its events; only some record per-event latency, so bookkeeping does not dominate.
const sampleEvery = perNode ? 1 : Math.max(1, Math.floor(watchers / 100));

/** Bookkeeping shared by the berth and etcd runs: when write `seq` was sent and acknowledged, when it arrived. */
class Ledger {
  readonly sent: number[] = [];
  readonly acked: number[] = [];
  /** Pairs of (seq, receive time) from the sampled watchers. */
  readonly received: number[] = [];
  delivered = 0;
  /** A chunk of a watch stream or an etcd value carrying `marker`: count it, and record when sampled. */
  record(text: string, sampled: boolean, now: number): void {
    let at = text.indexOf(marker);
    while (at >= 0) {
      this.delivered++;
      if (sampled) {
        const start = at + marker.length;
        this.received.push(Number(text.slice(start, text.indexOf(':', start))), now);
      }
      at = text.indexOf(marker, at + marker.length);
    }
  }
  expected(): number {
    return perNode ? this.acked.length : this.acked.length * watchers;
  }
  figures(): { ackP50: number; ackP99: number; sendP50: number; sendP99: number; max: number } {
    const fromAck: number[] = [];
    const fromSend: number[] = [];
    for (let i = 0; i < this.received.length; i += 2) {
      const seq = this.received[i] as number;
      const at = this.received[i + 1] as number;
      const acked = this.acked[seq];
      const sent = this.sent[seq];
      // An event can be read before the writer has read its 201: the server tells watchers first.
      if (acked !== undefined) fromAck.push(Math.max(0, at - acked));
      if (sent !== undefined) fromSend.push(at - sent);
    }
    fromAck.sort((a, b) => a - b);
    fromSend.sort((a, b) => a - b);
    return {
      ackP50: quantile(fromAck, 0.5),
      ackP99: quantile(fromAck, 0.99),
      sendP50: quantile(fromSend, 0.5),
      sendP99: quantile(fromSend, 0.99),
      max: fromSend[fromSend.length - 1] ?? Number.NaN,
    };
  }
}

interface Result {
  readonly label: string;
  readonly ledger: Ledger;
  readonly writesPerSecond: number;
  readonly watchSetupMs: number;
  readonly serverCores: number;
  readonly clientCores: number;
  readonly serverRssMb: number;
}

/** Writes `rate` objects/s for `seconds`, in ticks of 10 ms, through `write`; records send and ack times. */
async function writeAtRate(ledger: Ledger, write: (seq: number, annotation: string) => Promise<void>): Promise<number> {
  const total = Math.round(rate * seconds);
  const perTick = rate / 100;
  const begin = performance.now();
  const inflight: Promise<void>[] = [];
  for (let seq = 0; seq < total; seq++) {
    const due = begin + (seq / perTick) * 10;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const sent = performance.now();
    ledger.sent[seq] = sent;
    inflight.push(
      write(seq, `${seq}:${sent.toFixed(3)}`).then(() => {
        ledger.acked[seq] = performance.now();
      }),
    );
  }
  await Promise.all(inflight);
  return total / ((performance.now() - begin) / 1000);
}

async function waitForDeliveries(ledger: Ledger): Promise<void> {
  for (
    const until = performance.now() + DRAIN_MS;
    performance.now() < until && ledger.delivered < ledger.expected();
  ) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function runBerth(): Promise<Result> {
  const berth: BerthProcess = await startBerth({
    entry: values.entry as 'built' | 'src',
    nodeArgs: values['server-node-arg'],
    upArgs: values['up-arg'],
    ...(values['cpu-prof'] === undefined ? {} : { cpuProfDir: values['cpu-prof'] }),
  });
  const ledger = new Ledger();
  const headers = { authorization: `Bearer ${berth.token}`, accept: 'application/json' };
  // One connection per watch stream, as separate clients would have; the writer has its own pool.
  const watchPool = new Pool(berth.url, {
    connections: watchers,
    pipelining: 1,
    connect: { ca: berth.caCert, timeout: 60_000 },
    bodyTimeout: 0,
    headersTimeout: 0,
  });
  const writer = httpsPool(berth, 32);
  const abort = new AbortController();
  // Every watch request listens on this one signal.
  setMaxListeners(0, abort.signal);
  try {
    const listRes = await writer.request({ method: 'GET', path: `${containersPath}?limit=1`, headers });
    const list = (await listRes.body.json()) as { metadata: { resourceVersion: string } };
    const from = list.metadata.resourceVersion;
    const setupBegin = performance.now();
    // Open the streams a wave at a time: a thousand TLS handshakes at once on a loaded machine time out.
    let opening = 0;
    const slots: (() => void)[] = [];
    const slot = async (): Promise<void> => {
      while (opening >= OPEN_AT_ONCE) await new Promise<void>((r) => slots.push(r));
      opening++;
    };
    const release = () => {
      opening--;
      slots.shift()?.();
    };
    let broken = 0;
    const streams = Array.from({ length: watchers }, async (_, w) => {
      const selector = perNode ? `&fieldSelector=${encodeURIComponent(`spec.nodeName=node-${w}`)}` : '';
      await slot();
      let res: Dispatcher.ResponseData;
      try {
        res = await watchPool.request({
          method: 'GET',
          path: `${containersPath}?watch=1&resourceVersion=${from}${selector}`,
          headers,
          signal: abort.signal,
        });
      } finally {
        release();
      }
      if (res.statusCode !== 200) throw new Error(`watch ${w}: ${res.statusCode} ${await res.body.text()}`);
      return async () => {
        const sampled = w % sampleEvery === 0;
        res.body.setEncoding('utf8');
        // A marker split across two chunks would be missed: keep the unfinished tail of each chunk.
        let tail = '';
        try {
          for await (const chunk of res.body as AsyncIterable<string>) {
            const now = performance.now();
            const text = tail + chunk;
            const cut = text.lastIndexOf('\n') + 1;
            ledger.record(text.slice(0, cut), sampled, now);
            tail = text.slice(cut);
          }
        } catch {
          if (!abort.signal.aborted) broken++;
        }
      };
    });
    const opened = await Promise.allSettled(streams);
    const refused = opened.find((o) => o.status === 'rejected');
    if (refused !== undefined) {
      abort.abort();
      throw new Error(`${opened.filter((o) => o.status === 'rejected').length} of ${watchers} watches failed to open`, {
        cause: refused.reason,
      });
    }
    const reading = opened.map((o) => (o as PromiseFulfilledResult<() => Promise<void>>).value());
    const watchSetupMs = performance.now() - setupBegin;
    const body = (seq: number, annotation: string): string => {
      const obj = container(`w${seq}`, { [SENT]: annotation });
      if (perNode) (obj['spec'] as Record<string, unknown>)['nodeName'] = `node-${seq % watchers}`;
      return JSON.stringify(obj);
    };
    const [server0, client0] = [await berth.cpuSeconds(), ownCpuSeconds()];
    const t0 = performance.now();
    const writesPerSecond = await writeAtRate(ledger, async (seq, annotation) => {
      const res = await writer.request({
        method: 'POST',
        path: containersPath,
        headers: { ...headers, 'content-type': 'application/json' },
        body: body(seq, annotation),
      });
      const text = await res.body.text();
      if (res.statusCode !== 201) throw new Error(`POST w${seq}: ${res.statusCode} ${text.slice(0, 300)}`);
    });
    await waitForDeliveries(ledger);
    const elapsed = (performance.now() - t0) / 1000;
    const [server1, client1] = [await berth.cpuSeconds(), ownCpuSeconds()];
    const serverRssMb = (await berth.rss()) / 2 ** 20;
    abort.abort();
    await Promise.all(reading);
    if (broken > 0) console.log(`berth: ${broken} watch streams broke before the end`);
    return {
      label: 'berth',
      ledger,
      writesPerSecond,
      watchSetupMs,
      serverCores: (server1 - server0) / elapsed,
      clientCores: (client1 - client0) / elapsed,
      serverRssMb,
    };
  } finally {
    abort.abort();
    await watchPool.destroy();
    await writer.close();
    await berth.close();
  }
}

async function runEtcd(): Promise<Result> {
  const etcd: EtcdPeer = await startEtcd();
  const ledger = new Ledger();
  try {
    const setupBegin = performance.now();
    const watches = await Promise.all(
      Array.from({ length: watchers }, (_, w) => {
        const prefix = perNode ? `/registry/containers/node-${w}/` : '/registry/containers/default/';
        return etcd.client
          .watch()
          .prefix(prefix)
          .create()
          .then((watcher) => {
            const sampled = w % sampleEvery === 0;
            watcher.on('put', (kv) => ledger.record(kv.value.toString('utf8'), sampled, performance.now()));
            return watcher;
          });
      }),
    );
    const watchSetupMs = performance.now() - setupBegin;
    const [server0, client0] = [await etcd.cpuSeconds(), ownCpuSeconds()];
    const t0 = performance.now();
    const writesPerSecond = await writeAtRate(ledger, async (seq, annotation) => {
      const obj = container(`w${seq}`, { [SENT]: annotation });
      const key = perNode
        ? `/registry/containers/node-${seq % watchers}/w${seq}`
        : `/registry/containers/default/w${seq}`;
      await etcd.client.put(key).value(JSON.stringify(obj));
    });
    await waitForDeliveries(ledger);
    const elapsed = (performance.now() - t0) / 1000;
    const [server1, client1] = [await etcd.cpuSeconds(), ownCpuSeconds()];
    const { processRss } = await import('./api-process.js');
    const serverRssMb = (await processRss(etcd.pid)) / 2 ** 20;
    await Promise.all(watches.map((w) => w.cancel()));
    return {
      label: 'etcd',
      ledger,
      writesPerSecond,
      watchSetupMs,
      serverCores: (server1 - server0) / elapsed,
      clientCores: (client1 - client0) / elapsed,
      serverRssMb,
    };
  } finally {
    await etcd.close();
  }
}

async function main(): Promise<void> {
  console.log(
    `watch fan-out: ${watchers} watchers (${perNode ? 'each on its own node: fieldSelector spec.nodeName / etcd key prefix' : 'each on the whole collection'}), ` +
      `${rate} creates/s for ${seconds} s; latency sampled on every ${sampleEvery === 1 ? '' : `${sampleEvery}th `}watcher`,
  );
  console.log(
    `load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (other work on this machine skews every figure)`,
  );
  const results: Result[] = [];
  if (values.only !== 'etcd') results.push(await runBerth());
  if (values.only !== 'berth') results.push(await runEtcd());
  console.log(
    'server | writes/s | delivered/expected | ack->recv p50 ms p99 ms | send->recv p50 ms p99 ms max ms | setup ms | srv cpu cli cpu | srv RSS MB',
  );
  for (const r of results) {
    const f = r.ledger.figures();
    console.log(
      `${r.label.padEnd(6)} | ${col(r.writesPerSecond, 8)} | ${col(`${r.ledger.delivered}/${r.ledger.expected()}`, 18)} | ${col(f.ackP50, 16, 1)} ${col(f.ackP99, 6, 1)} |` +
        ` ${col(f.sendP50, 17, 1)} ${col(f.sendP99, 6, 1)} ${col(f.max, 6, 0)} | ${col(r.watchSetupMs, 8)} | ${col(r.serverCores, 7, 2)} ${col(r.clientCores, 7, 2)} | ${col(r.serverRssMb, 10, 1)}`,
    );
  }
  const b = results.find((r) => r.label === 'berth');
  const e = results.find((r) => r.label === 'etcd');
  if (b !== undefined && e !== undefined) {
    const [bf, ef] = [b.ledger.figures(), e.ledger.figures()];
    console.log(
      `watch delivery p99 ack->recv: berth ${bf.ackP99.toFixed(1)} ms, etcd ${ef.ackP99.toFixed(1)} ms, ratio ${(bf.ackP99 / ef.ackP99).toFixed(2)}x; ` +
        `send->recv: berth ${bf.sendP99.toFixed(1)} ms, etcd ${ef.sendP99.toFixed(1)} ms; writes/s of ${rate}: berth ${b.writesPerSecond.toFixed(0)}, etcd ${e.writesPerSecond.toFixed(0)} ` +
        '(goal: berth p99 <= 50 ms at the full rate; a server that cannot keep the rate delays the acks, so read send->recv then)',
    );
  }
}

await main();
