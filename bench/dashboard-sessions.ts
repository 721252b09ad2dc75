// Benchmark: the API server's CPU and memory with 100 dashboards open on its Containers list, holding 1,000
// Containers, beside 100 `kubectl get containers -w` against a server in the same state. A dashboard session is the
// requests the page makes (not a browser each): the sign-in's SelfSubjectReview, then list + watch of Namespaces
// and of the namespace's Containers, with `Accept: application/json;drop=metadata.managedFields` and bookmarks, as
// dashboard/src/api/collection.ts asks. Each peer gets a fresh `berth up` (its own process, --no-agent) with the
// same 1,000 Containers, then: all sessions open (until each has its whole list and its watch), then `--events`
// label patches at `--rate`/s that every session must see, then the server's CPU over each phase and its RSS.
// Not a test: run with
//   node --conditions=berth-src --import=tsx bench/dashboard-sessions.ts [--sessions 100] [--containers 1000]
//        [--events 200] [--rate 20] [--wave 10] [--only dashboards|kubectl]

import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Pool } from 'undici';
import { col, containersPath, createContainers, httpsPool, startBerth, type BerthProcess } from './api-process.js';

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '100' },
    containers: { type: 'string', default: '1000' },
    events: { type: 'string', default: '200' },
    rate: { type: 'string', default: '20' },
    wave: { type: 'string', default: '10' },
    only: { type: 'string' },
  },
});
const wave = Number(values.wave);
const sessions = Number(values.sessions);
const count = Number(values.containers);
const events = Number(values.events);
const rate = Number(values.rate);
const kubectl = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
const lean = 'application/json;drop=metadata.managedFields';

interface Watching {
  /** Resolves once the initial list (and, for a dashboard, its watch's answer) has arrived. */
  readonly ready: Promise<void>;
  /** MODIFIED events of the benchmark's patches seen so far. */
  seen(): number;
  close(): void;
}

interface Row {
  readonly name: string;
  readonly openMs: number;
  readonly openCpu: number;
  readonly steadyMs: number;
  readonly steadyCpu: number;
  readonly idleRss: number;
  readonly rss: number;
  /** What the dashboards received (lists and watch lines); kubectl's wire bytes are not seen from here. */
  readonly bytes: number | undefined;
}

/** Lines of a streamed body as they arrive. */
function onLines(stream: NodeJS.ReadableStream, line: (l: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let end = pending.indexOf('\n');
    while (end >= 0) {
      line(pending.slice(0, end));
      pending = pending.slice(end + 1);
      end = pending.indexOf('\n');
    }
  });
}

async function populate(berth: BerthProcess): Promise<void> {
  const pool = httpsPool(berth, 16);
  await createContainers(berth, pool, count);
  await pool.close();
}

/** One dashboard on the Containers list of `default`: the page's requests, byte for byte in what they ask. */
function dashboard(berth: BerthProcess, pool: Pool, counted: { bytes: number }): Watching {
  const abort = new AbortController();
  const headers = { authorization: `Bearer ${berth.token}`, accept: lean };
  let seen = 0;
  const listAndWatch = async (path: string, onEvent?: (l: string) => void) => {
    const list = await pool.request({ path, method: 'GET', headers, signal: abort.signal });
    const text = await list.body.text();
    counted.bytes += text.length;
    if (list.statusCode !== 200) throw new Error(`list ${path}: ${list.statusCode}`);
    const rv = (JSON.parse(text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const watch = await pool.request({
      path: `${path}?watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`,
      method: 'GET',
      headers,
      signal: abort.signal,
    });
    if (watch.statusCode !== 200) throw new Error(`watch ${path}: ${watch.statusCode}`);
    watch.body.on('error', () => undefined);
    onLines(watch.body, (l) => {
      counted.bytes += l.length + 1;
      onEvent?.(l);
    });
  };
  const ready = (async () => {
    const review = await pool.request({
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
      signal: abort.signal,
    });
    await review.body.text();
    await Promise.all([
      listAndWatch('/api/v1/namespaces'),
      listAndWatch(containersPath, (l) => {
        if (l.startsWith('{"type":"MODIFIED"')) seen++;
      }),
    ]);
  })();
  return { ready, seen: () => seen, close: () => abort.abort() };
}

/** One `kubectl get containers -w` (its Table list, then its Table watch), its lines counted. */
function kubectlWatch(env: NodeJS.ProcessEnv): Watching {
  const child: ChildProcess = spawn(kubectl, ['get', 'containers.berth.dev', '-w', '--no-headers'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let lines = 0;
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  let listed: () => void;
  let failed: (e: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    listed = resolve;
    failed = reject;
  });
  child.once('exit', (code) => failed(new Error(`kubectl exited ${code}: ${stderr}`)));
  onLines(child.stdout!, () => {
    if (++lines === count) listed();
  });
  return { ready, seen: () => Math.max(0, lines - count), close: () => child.kill('SIGTERM') };
}

async function until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !done(); ) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function measure(name: 'dashboards' | 'kubectl'): Promise<Row> {
  const berth = await startBerth();
  const cacheDir = join(tmpdir(), `berth-bench-sessions-kc-${process.pid}`);
  try {
    await populate(berth);
    const idleRss = await berth.rss();
    const env = { ...process.env, KUBECONFIG: berth.kubeconfig, KUBECACHEDIR: cacheDir };
    const counted = { bytes: 0 };
    // Two long-lived watches per dashboard, and room for the lists and reviews beside them.
    const pool = httpsPool(berth, sessions * 2 + 16);
    const patcher = httpsPool(berth, 4);
    const all: Watching[] = [];
    try {
      if (name === 'kubectl') {
        // kubectl's discovery cache, shared by the 100 (as one user's are): not what is measured.
        const warm = kubectlWatch(env);
        await warm.ready;
        warm.close();
      }
      let cpu = await berth.treeCpuSeconds();
      let t0 = performance.now();
      // Opened `--wave` at a time (each wave once the last has its lists): 100 processes or TLS handshakes at
      // once on 2 cores time out before they measure anything.
      for (let i = 0; i < sessions; i += wave) {
        const opened = Array.from({ length: Math.min(wave, sessions - i) }, () =>
          name === 'dashboards' ? dashboard(berth, pool, counted) : kubectlWatch(env),
        );
        all.push(...opened);
        await Promise.all(opened.map((w) => w.ready));
      }
      const openMs = performance.now() - t0;
      const openCpu = (await berth.treeCpuSeconds()) - cpu;

      cpu = await berth.treeCpuSeconds();
      t0 = performance.now();
      for (let i = 0; i < events; i++) {
        const due = t0 + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const res = await patcher.request({
          path: `${containersPath}/c-${String(i % count).padStart(4, '0')}`,
          method: 'PATCH',
          headers: { authorization: `Bearer ${berth.token}`, 'content-type': 'application/merge-patch+json' },
          body: JSON.stringify({ metadata: { labels: { tick: String(i) } } }),
        });
        await res.body.text();
        if (res.statusCode !== 200) throw new Error(`patch ${i}: ${res.statusCode}`);
      }
      await until(`every ${name} session saw ${events} events`, () => all.every((w) => w.seen() >= events), 120_000);
      const steadyMs = performance.now() - t0;
      const steadyCpu = (await berth.treeCpuSeconds()) - cpu;
      const rss = await berth.rss();
      const bytes = name === 'dashboards' ? counted.bytes : undefined;
      return { name, openMs, openCpu, steadyMs, steadyCpu, idleRss, rss, bytes };
    } finally {
      for (const w of all) w.close();
      await pool.destroy();
      await patcher.close();
    }
  } finally {
    await berth.close();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${count} Containers, ${sessions} sessions each, ${events} patches at ${rate}/s`,
);
const mb = (b: number) => b / 2 ** 20;
console.log(
  `${'peer'.padEnd(26)}${col('open s', 8)}${col('open cpu', 10)}${col('steady s', 10)}${col('steady cpu', 12)}${col('us/delivery', 13)}${col('RSS idle', 10)}${col('RSS open', 10)}${col('MB recv', 9)}`,
);
const rows: Row[] = [];
for (const name of ['dashboards', 'kubectl'] as const) {
  if (values.only !== undefined && values.only !== name) continue;
  const r = await measure(name);
  rows.push(r);
  const label = r.name === 'dashboards' ? `${sessions} dashboards` : `${sessions} kubectl get -w`;
  console.log(
    `${label.padEnd(26)}${col(r.openMs / 1000, 8, 1)}${col(r.openCpu, 10, 2)}${col(r.steadyMs / 1000, 10, 1)}${col(r.steadyCpu, 12, 2)}${col((r.steadyCpu * 1e6) / (events * sessions), 13, 0)}${col(mb(r.idleRss), 10, 0)}${col(mb(r.rss), 10, 0)}${col(r.bytes === undefined ? '-' : mb(r.bytes), 9, 1)}`,
  );
}
const [d, k] = [rows.find((r) => r.name === 'dashboards'), rows.find((r) => r.name === 'kubectl')];
if (d !== undefined && k !== undefined)
  console.log(
    `ratio dashboards / kubectl: open CPU ${(d.openCpu / k.openCpu).toFixed(2)}, steady CPU ${(d.steadyCpu / k.steadyCpu).toFixed(2)}, RSS growth ${((d.rss - d.idleRss) / Math.max(1, k.rss - k.idleRss)).toFixed(2)}`,
  );
