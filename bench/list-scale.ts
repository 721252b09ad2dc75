// Benchmark of reads at scale: 10,000 Containers stored in `berth up --no-agent` (its own process), then a
// paginated list (`?limit=500`, the first page and each following `continue` page), the whole collection as JSON
// and as the Table kubectl asks for, and `kubectl get containers -A` spawn to exit beside the server's own time
// for the LISTs it made (apiserver_request_duration_seconds); the peer: etcd3 range reads of the same 10,000
// values on Debian's etcd, with limit 500 (and each following page) and the full prefix. Prints the server's RSS.
// Not a test: run with
//   node --conditions=berth-src --import=tsx bench/list-scale.ts [--containers 10000] [--runs 9]
//        [--only berth|etcd] [--entry built|src] [--cpu-prof DIR] [--server-node-arg=FLAG]... [--up-arg=ARG]...

import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { col, container, createContainers, httpsPool, quantile, startBerth, type BerthProcess } from './api-process.js';
import { Etcd3 } from 'etcd3';
import { startEtcd } from './etcd-peer.js';

const { values } = parseArgs({
  options: {
    containers: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '9' },
    entry: { type: 'string', default: 'built' },
    'server-node-arg': { type: 'string', multiple: true, default: [] },
    'up-arg': { type: 'string', multiple: true, default: [] },
    only: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const count = Number(values.containers);
const runs = Number(values.runs);
if (!(count > 0 && runs > 0)) throw new RangeError('--containers and --runs must be positive');
if (values.entry !== 'built' && values.entry !== 'src') throw new RangeError('--entry must be built or src');
const PAGE = 500;
const kubectl = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
/** What kubectl sends for `get`: a Table, falling back to a plain list. */
const tableAccept =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const allContainers = '/apis/berth.dev/v1alpha1/containers';

const median = (xs: readonly number[]): number =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

interface Row {
  readonly name: string;
  readonly berth?: number;
  readonly etcd?: number;
  readonly note?: string;
}
const rows: Row[] = [];

console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${count} Containers, ${runs} runs each (medians)`,
);

if (values.only !== 'etcd') await runBerth();
if (values.only !== 'berth') await runEtcd();

console.log(`\n${'read'.padEnd(44)} ${col('berth ms', 10)} ${col('etcd ms', 10)} ${col('ratio', 7)}`);
for (const r of rows) {
  const ratio = r.berth !== undefined && r.etcd !== undefined ? col(r.berth / r.etcd, 7, 2) : col('', 7);
  console.log(
    `${r.name.padEnd(44)} ${r.berth === undefined ? col('', 10) : col(r.berth, 10, 1)} ${
      r.etcd === undefined ? col('', 10) : col(r.etcd, 10, 1)
    } ${ratio}${r.note === undefined ? '' : `  ${r.note}`}`,
  );
}
console.log(
  `\nGoals: kubectl get containers -A p50 < 100 ms, a page of ${PAGE} < 20 ms, server RSS < 300 MB (loadavg now ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')})`,
);

function row(name: string, side: 'berth' | 'etcd', ms: number, note?: string): void {
  const at = rows.findIndex((r) => r.name === name);
  const old = at < 0 ? { name } : rows[at]!;
  const next: Row = { ...old, [side]: ms, ...(note === undefined ? {} : { note }) };
  if (at < 0) rows.push(next);
  else rows[at] = next;
  console.log(`${side}: ${name} ${ms.toFixed(1)}${note === undefined ? '' : ` (${note})`}`);
}

async function timed(fn: () => Promise<void>): Promise<number[]> {
  await fn(); // warm-up, not counted
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await fn();
    out.push(performance.now() - started);
  }
  return out;
}

async function runBerth(): Promise<void> {
  const berth = await startBerth({
    entry: values.entry as 'built' | 'src',
    nodeArgs: values['server-node-arg'],
    upArgs: values['up-arg'],
    ...(values['cpu-prof'] === undefined ? {} : { cpuProfDir: values['cpu-prof'] }),
  });
  const pool = httpsPool(berth, 16);
  try {
    const filling = performance.now();
    await createContainers(berth, pool, count);
    console.log(
      `berth: ${count} Containers created in ${((performance.now() - filling) / 1000).toFixed(1)} s; RSS ${(
        (await berth.rss()) / 2 ** 20
      ).toFixed(0)} MB`,
    );
    const get = async (path: string, accept = 'application/json'): Promise<string> => {
      const res = await pool.request({
        path,
        method: 'GET',
        headers: { authorization: `Bearer ${berth.token}`, accept },
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode} ${text.slice(0, 200)}`);
      return text;
    };
    // The controllers answer the fill (the scheduler writes a status and an Event for each unbound Container):
    // wait until the store's revision moves by at most 2 a half second (leases) for 2 s (at most 120 s), so the
    // reads are not measured beside that.
    const settling = performance.now();
    let settledRevision = 0;
    for (let still = 0; still < 4 && performance.now() - settling < 120_000; ) {
      await new Promise((r) => setTimeout(r, 500));
      const rv = Number(/"resourceVersion":"(\d+)"/.exec(await get(`${allContainers}?limit=1`))?.[1] ?? 0);
      still = rv - settledRevision <= 2 ? still + 1 : 0;
      settledRevision = rv;
    }
    console.log(`berth: the controllers settled after ${((performance.now() - settling) / 1000).toFixed(1)} s`);
    // The same clock as a V8 CPU profile's timestamps (CLOCK_MONOTONIC), to keep only the reads of a profile.
    console.log(`berth: reads start at monotonic ${process.hrtime.bigint() / 1000n} us`);
    const continueOf = (text: string): string | undefined => {
      const m = /"continue":"([^"]*)"/.exec(text.slice(0, 400));
      return m?.[1] === undefined || m[1] === '' ? undefined : m[1];
    };
    // The pages, walked once to learn their tokens, then each timed on its own.
    const tokens: string[] = [];
    for (let token = continueOf(await get(`${allContainers}?limit=${PAGE}`)); token !== undefined; ) {
      tokens.push(token);
      token = continueOf(await get(`${allContainers}?limit=${PAGE}&continue=${encodeURIComponent(token)}`));
    }
    if (tokens.length !== Math.ceil(count / PAGE) - 1) throw new Error(`${tokens.length + 1} pages of ${PAGE}`);
    row(`first page, limit=${PAGE}`, 'berth', median(await timed(() => get(`${allContainers}?limit=${PAGE}`).then())));
    const mid = tokens[Math.floor(tokens.length / 2)] ?? '';
    row(
      `a middle page (continue), limit=${PAGE}`,
      'berth',
      median(await timed(() => get(`${allContainers}?limit=${PAGE}&continue=${encodeURIComponent(mid)}`).then())),
    );
    const walk = async (accept: string): Promise<void> => {
      let token = continueOf(await get(`${allContainers}?limit=${PAGE}`, accept));
      while (token !== undefined)
        token = continueOf(await get(`${allContainers}?limit=${PAGE}&continue=${encodeURIComponent(token)}`, accept));
    };
    row(`all ${count / PAGE} pages of ${PAGE}, JSON`, 'berth', median(await timed(() => walk('application/json'))));
    row(`all ${count / PAGE} pages of ${PAGE}, Table`, 'berth', median(await timed(() => walk(tableAccept))));
    row(`the whole list (no limit), JSON`, 'berth', median(await timed(() => get(allContainers).then())));
    row(`the whole list (no limit), Table`, 'berth', median(await timed(() => get(allContainers, tableAccept).then())));
    await kubectlRows(berth);
    console.log(`berth: RSS after the reads ${((await berth.rss()) / 2 ** 20).toFixed(0)} MB`);
    row('server RSS after the reads (MB)', 'berth', (await berth.rss()) / 2 ** 20);
  } finally {
    await pool.close();
    await berth.close();
  }
}

/** `kubectl get containers -A` spawn to exit, and the server's time for the LISTs it made (from /metrics). */
async function kubectlRows(berth: BerthProcess): Promise<void> {
  const cacheDir = join(tmpdir(), `berth-bench-kc-${process.pid}`);
  const env = {
    ...process.env,
    KUBECONFIG: berth.kubeconfig,
    KUBECACHEDIR: cacheDir,
  };
  const run = async (): Promise<void> => {
    const { stdout } = await promisify(execFile)(kubectl, ['get', 'containers.berth.dev', '-A', '--no-headers'], {
      env,
      maxBuffer: 64 << 20,
    });
    const lines = stdout.trim().split('\n').length;
    if (lines !== count) throw new Error(`kubectl listed ${lines}, not ${count}`);
  };
  const sample = /^apiserver_request_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$/gm;
  const metrics = httpsPool(berth, 1);
  const serverTime = async (): Promise<Map<string, number>> => {
    const res = await metrics.request({
      method: 'GET',
      path: '/metrics',
      headers: { authorization: `Bearer ${berth.token}` },
    });
    const out = new Map<string, number>();
    for (const m of (await res.body.text()).matchAll(sample)) {
      const labels = m[2] ?? '';
      if (!labels.includes('verb="LIST"') || !labels.includes('resource="containers"')) continue;
      out.set(m[1] ?? '', (out.get(m[1] ?? '') ?? 0) + Number(m[3]));
    }
    return out;
  };
  await run(); // discovery cache
  const before = await serverTime();
  const ms = await timed(run);
  const after = await serverTime();
  await metrics.close();
  await rm(cacheDir, { recursive: true, force: true });
  const lists = (after.get('count') ?? 0) - (before.get('count') ?? 0);
  const seconds = (after.get('sum') ?? 0) - (before.get('sum') ?? 0);
  // timed() ran it runs + 1 times.
  const perRun = (seconds * 1000) / (runs + 1);
  row(
    'kubectl get containers -A, spawn to exit',
    'berth',
    median(ms),
    `server: ${perRun.toFixed(1)} ms in ${(lists / (runs + 1)).toFixed(0)} LISTs per run`,
  );
}

async function runEtcd(): Promise<void> {
  const etcd = await startEtcd();
  // The whole prefix (about 9 MB) is above gRPC's default 4 MB message limit.
  const client = new Etcd3({ hosts: etcd.url, grpcOptions: { 'grpc.max_receive_message_length': -1 } });
  try {
    const prefix = '/registry/berth.dev/containers/default/';
    const filling = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < count) {
          const name = `c-${String(next++).padStart(4, '0')}`;
          await client.put(prefix + name).value(JSON.stringify(container(name)));
        }
      }),
    );
    console.log(`etcd: ${count} values put in ${((performance.now() - filling) / 1000).toFixed(1)} s`);
    const page = async (after: string | undefined): Promise<string | undefined> => {
      const end = `${prefix.slice(0, -1)}0`;
      const range = after === undefined ? { start: prefix, end } : { start: `${after}\0`, end };
      const res = await client.getAll().inRange(range).limit(PAGE).exec();
      return res.more ? res.kvs[res.kvs.length - 1]?.key.toString() : undefined;
    };
    const keys: string[] = [];
    for (let k = await page(undefined); k !== undefined; k = await page(k)) keys.push(k);
    if (keys.length !== Math.ceil(count / PAGE) - 1) throw new Error(`etcd: ${keys.length + 1} pages of ${PAGE}`);
    row(`first page, limit=${PAGE}`, 'etcd', median(await timed(() => page(undefined).then())));
    const mid = keys[Math.floor(keys.length / 2)] ?? '';
    row(`a middle page (continue), limit=${PAGE}`, 'etcd', median(await timed(() => page(mid).then())));
    const walk = async (): Promise<void> => {
      for (let k = await page(undefined); k !== undefined; k = await page(k));
    };
    row(`all ${count / PAGE} pages of ${PAGE}, JSON`, 'etcd', median(await timed(walk)));
    row(
      `the whole list (no limit), JSON`,
      'etcd',
      median(await timed(() => client.getAll().prefix(prefix).strings().then())),
    );
  } finally {
    client.close();
    await etcd.close();
  }
}
