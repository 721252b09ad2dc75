// Benchmark of the durable store: fsync'd creates/s and latency on LevelStore at 1, 16 and 64 concurrent
// writers, side by side with Debian's etcd driven by the same load through etcd3; plus WatchCache fan-out
// latency and the RSS of an idle store. Not a test: run with
//   node --conditions=berth-src --import=tsx bench/storage-level.ts [--seconds 3]

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { LevelStore } from '../apiserver/src/storage/level-store.js';
import { WatchCache } from '../apiserver/src/storage/watch-cache.js';
import { startEtcd } from './etcd-peer.js';

const secondsFlag = process.argv.indexOf('--seconds');
const seconds = secondsFlag >= 0 ? Number(process.argv[secondsFlag + 1]) : 3;
if (!(seconds > 0)) throw new RangeError('--seconds must be a positive number');
// --only writes|watch|rss runs one part.
const onlyFlag = process.argv.indexOf('--only');
const only = onlyFlag >= 0 ? process.argv[onlyFlag + 1] : undefined;
const CONCURRENCY = [1, 16, 64];

/** A ~1 KB object like the API server stores, carrying its own resourceVersion. */
function payload(name: string, resourceVersion: number): string {
  return JSON.stringify({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: {
      name,
      namespace: 'bench',
      uid: '6f1c1a52-3d1e-4b8e-9a57-1f0e2f7d9c11',
      resourceVersion: String(resourceVersion),
      creationTimestamp: '2026-01-01T00:00:00Z',
      labels: { app: 'bench', tier: 'backend', release: 'stable' },
      annotations: { 'berth.dev/note': 'x'.repeat(400) },
    },
    spec: {
      image: 'registry.local/bench/app:1.0',
      command: ['/bin/app', '--serve', '--port=8080'],
      env: [
        { name: 'MODE', value: 'bench' },
        { name: 'LEVEL', value: 'info' },
      ],
      resources: { cpu: '250m', memory: '128Mi' },
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    },
    status: { phase: 'Pending', conditions: [] },
  });
}

interface Figures {
  readonly ops: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
}

/** Run `concurrency` loops of `write` for the configured time; latency per write in ms. */
async function drive(concurrency: number, write: (writer: number, n: number) => Promise<void>): Promise<Figures> {
  const latencies: number[] = [];
  // Warm up (JIT, connections, LevelDB files) before measuring.
  const warmEnd = performance.now() + 300;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let n = 0; performance.now() < warmEnd; n++) await write(w, -1 - n);
    }),
  );
  const begin = performance.now();
  const end = begin + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (let n = 0; performance.now() < end; n++) {
        const t0 = performance.now();
        await write(w, n);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (performance.now() - begin) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] ?? 0;
  return { ops: latencies.length, perSecond: latencies.length / elapsed, p50: at(0.5), p99: at(0.99) };
}

async function benchLevel(dir: string, concurrency: number): Promise<Figures & { perSync: number }> {
  const store = await LevelStore.open({ dir: join(dir, `level-${concurrency}`) });
  try {
    const figures = await drive(concurrency, async (w, n) => {
      const name = `c${w}-${n}`;
      const r = await store.create(`/registry/containers/bench/${name}`, (rv) => payload(name, rv));
      if (!r.ok) throw new Error(`create failed: ${r.reason}`);
    });
    const { syncs, writes } = store.stats();
    return { ...figures, perSync: writes / syncs };
  } finally {
    await store.close();
  }
}

async function benchEtcd(client: Etcd3, concurrency: number): Promise<Figures> {
  return drive(concurrency, async (w, n) => {
    const name = `c${w}-${n}`;
    await client.put(`/registry/containers/bench-${concurrency}/${name}`).value(payload(name, 0));
  });
}

/** 1,000 watchers on one resource prefix of a WatchCache while writing 1,000 objects/s. */
async function benchWatch(dir: string): Promise<{ deliveries: number; p50: number; p99: number }> {
  const store = await LevelStore.open({ dir: join(dir, 'watch') });
  const cache = new WatchCache(store);
  const acknowledged = new Map<number, number>();
  const latencies: number[] = [];
  const subs = Array.from({ length: 1000 }, () => cache.subscribe('/registry/containers/', cache.revision()));
  let done = false;
  // Every tenth watcher records latencies, so bookkeeping does not dominate what is measured.
  const readers = subs.map(async (s, i) => {
    for (;;) {
      const batch = await s.next();
      if (batch === undefined) return;
      if (i % 10 === 0) {
        const now = performance.now();
        for (const e of batch) {
          const at = acknowledged.get(e.revision);
          if (at !== undefined) latencies.push(now - at);
        }
      }
      if (done && s.lastRevision >= store.revision()) return;
    }
  });
  // 1,000 writes/s in ticks of 10 ms, from concurrent writers as an API server would issue them.
  const total = Math.round(seconds * 1000);
  const begin = performance.now();
  const writes: Array<Promise<void>> = [];
  for (let i = 0; i < total; i++) {
    const due = begin + i;
    const wait = due - performance.now();
    if (wait > 2) await new Promise((resolve) => setTimeout(resolve, wait));
    const name = `w${i}`;
    writes.push(
      store
        .create(`/registry/containers/bench/${name}`, (rv) => payload(name, rv))
        .then((r) => {
          if (r.ok) acknowledged.set(r.revision, performance.now());
        }),
    );
  }
  await Promise.all(writes);
  done = true;
  await cache.waitFor(store.revision());
  await Promise.all(readers);
  for (const s of subs) s.close();
  cache.close();
  await store.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number): number => latencies[Math.floor(latencies.length * q)] ?? 0;
  return { deliveries: latencies.length * 10, p50: at(0.5), p99: at(0.99) };
}

/**
 * RSS of a fresh process holding an open store of `objects` objects and a WatchCache, after settling, and of
 * the same process before opening (Node plus the tsx loader, which a built server does not carry).
 */
async function idleRss(dir: string, objects: number): Promise<{ before: number; after: number }> {
  const storeDir = join(dir, 'idle');
  const store = await LevelStore.open({ dir: storeDir });
  for (let i = 0; i < objects; i += 500) {
    await Promise.all(
      Array.from({ length: 500 }, (_, j) =>
        store.create(`/registry/containers/idle/o${i + j}`, (rv) => payload(`o${i + j}`, rv)),
      ),
    );
  }
  await store.close();
  const script = `
    import { LevelStore } from ${JSON.stringify(new URL('../apiserver/src/storage/level-store.ts', import.meta.url).href)};
    import { WatchCache } from ${JSON.stringify(new URL('../apiserver/src/storage/watch-cache.ts', import.meta.url).href)};
    await new Promise((r) => setTimeout(r, 500));
    globalThis.gc?.();
    const before = process.memoryUsage().rss;
    const store = await LevelStore.open({ dir: ${JSON.stringify(storeDir)} });
    const cache = new WatchCache(store);
    await cache.waitFor(store.revision());
    await new Promise((r) => setTimeout(r, 1500));
    globalThis.gc?.();
    console.log(before, process.memoryUsage().rss);
    cache.close();
    await store.close();
  `;
  const out = await new Promise<string>((resolve, reject) => {
    const proc = spawn(process.execPath, ['--expose-gc', '--import=tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    proc.stdout.on('data', (d: Buffer) => (text += d.toString()));
    proc.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`idle RSS probe exited ${code}`))));
  });
  const [before, after] = out.trim().split(' ').map(Number);
  return { before: before ?? 0, after: after ?? 0 };
}

const fmt = (n: number, digits = 0): string => n.toFixed(digits).padStart(8);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-storage-'));
  if (only === undefined || only === 'writes') await benchWrites(dir);
  if (only === undefined || only === 'watch') {
    const watch = await benchWatch(dir);
    console.log(
      `watch cache: 1,000 watchers on one prefix, 1,000 writes/s: ${watch.deliveries} deliveries, ack->delivery p50 ${watch.p50.toFixed(2)} ms, p99 ${watch.p99.toFixed(2)} ms`,
    );
  }
  if (only === undefined || only === 'rss') {
    const rss = await idleRss(dir, 10_000);
    const mb = (n: number): string => (n / 1024 / 1024).toFixed(1);
    console.log(
      `idle RSS, store with 10,000 objects + watch cache: ${mb(rss.after)} MB (process before opening: ${mb(rss.before)} MB, so the store adds ${mb(rss.after - rss.before)} MB)`,
    );
  }
  await rm(dir, { recursive: true, force: true });
}

async function benchWrites(dir: string): Promise<void> {
  const etcd = await startEtcd();
  const client = etcd.client;
  try {
    console.log(`durable creates of ~${payload('c0-0', 1).length} B objects, ${seconds} s per row (etcd ${etcd.url})`);
    console.log('writers | level ops/s  p50 ms  p99 ms writes/sync | etcd ops/s  p50 ms  p99 ms | level/etcd');
    for (const c of CONCURRENCY) {
      const level = await benchLevel(dir, c);
      const e = await benchEtcd(client, c);
      console.log(
        `${String(c).padStart(7)} | ${fmt(level.perSecond)}  ${fmt(level.p50, 2)} ${fmt(level.p99, 2)}    ${fmt(level.perSync, 1)} | ${fmt(e.perSecond)} ${fmt(e.p50, 2)} ${fmt(e.p99, 2)} | ${fmt(level.perSecond / e.perSecond, 2)}x`,
      );
    }
  } finally {
    await etcd.close();
  }
}

await main();
