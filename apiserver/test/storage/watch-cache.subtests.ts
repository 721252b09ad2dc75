// WatchCache on a real LevelStore: fan-out by prefix, resume from the window, 410 when too old, slow
// subscribers ended without harming others, list/watch hand-off, and 1,000 concurrent watchers.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CompactedError, StoreClosedError, WatchTooSlowError, type StoreEvent } from '../../src/storage/interface.js';
import { LevelStore } from '../../src/storage/level-store.js';
import { WatchCache, type CacheWatcher, type WatchCacheOptions } from '../../src/storage/watch-cache.js';
import { ok, rejection, thrown, waitUntil } from './conformance.js';

async function setup(t: Test, options?: WatchCacheOptions): Promise<{ store: LevelStore; cache: WatchCache }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-watch-cache-'));
  const store = await LevelStore.open({ dir });
  const cache = new WatchCache(store, options);
  t.teardown(async () => {
    cache.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, cache };
}

/** Read until `n` events arrived. */
async function collect(w: CacheWatcher, n: number): Promise<StoreEvent[]> {
  const out: StoreEvent[] = [];
  while (out.length < n) {
    const batch = await w.next();
    if (batch === undefined) throw new Error(`watcher ended after ${out.length} of ${n}`);
    out.push(...batch);
  }
  return out;
}

t.test('subscribers get live events under their prefix, in order; waitFor tracks writes', async (t) => {
  const { store, cache } = await setup(t);
  const start = cache.revision();
  const a = cache.subscribe('/a/', start);
  const all = cache.subscribe('/', start);
  const r1 = ok(t, await store.create('/a/1', () => 'one'));
  const r2 = ok(t, await store.create('/b/1', () => 'two'));
  const r3 = ok(t, await store.update('/a/1', r1, () => 'three'));
  await cache.waitFor(r3);
  t.ok(cache.revision() >= r3, 'revision() reaches the write once waitFor resolves');
  t.same(
    (await collect(a, 2)).map((e) => [e.key, e.revision, e.value, e.prevValue]),
    [
      ['/a/1', r1, 'one', undefined],
      ['/a/1', r3, 'three', 'one'],
    ],
  );
  t.same(
    (await collect(all, 3)).map((e) => e.revision),
    [r1, r2, r3],
  );
  t.equal(cache.subscriberCount(), 2);
  a.close();
  all.close();
  t.equal(cache.subscriberCount(), 0, 'closed subscribers are dropped');
  t.equal(await a.next(), undefined, 'a closed subscriber reads as ended');
});

t.test('a watch resumes from the window, or from the store history before it; compacted ones get 410', async (t) => {
  const { store, cache } = await setup(t, { capacity: 10 });
  const revs: number[] = [];
  for (let i = 0; i < 30; i++) revs.push(ok(t, await store.create(`/r/${i}`, () => `${i}`)));
  await cache.waitFor(revs[29] as number);
  t.equal(cache.oldestRevision(), revs[19], 'the window holds the last 10 events');
  const w = cache.subscribe('/r/', revs[24] as number);
  t.same(
    (await collect(w, 5)).map((e) => e.revision),
    revs.slice(25),
    'from the window',
  );
  w.close();

  const old = cache.subscribe('/r/', revs[5] as number);
  t.same(
    (await collect(old, 24)).map((e) => e.revision),
    revs.slice(6),
    'from the store, then the window',
  );
  const live = ok(t, await store.create('/r/live', () => 'live'));
  t.same(
    (await collect(old, 1)).map((e) => e.revision),
    [live],
    'then live, without a gap or repeat',
  );
  old.close();

  await store.compact(revs[10] as number);
  const e = thrown(() => cache.subscribe('/r/', revs[5] as number));
  t.ok(CompactedError.isInstance(e), 'compacted in the store: CompactedError (410 Expired)');
  const events: StoreEvent[] = [];
  const it = cache.subscribe('/r/', revs[19] as number);
  for await (const ev of it.events) {
    events.push(ev);
    if (events.length === 11) break;
  }
  t.same(
    events.map((ev) => ev.revision),
    [...revs.slice(20), live],
    'the Watcher-shaped iterator works too',
  );
  t.equal(cache.subscriberCount(), 0, 'breaking out of the loop closes the subscriber');
});

t.test('a catch-up from history joins the window under concurrent writes without gap or repeat', async (t) => {
  // A window of 400 events: the start is well before it, and a reader on a loaded machine has room to keep up.
  const { store, cache } = await setup(t, { capacity: 400 });
  const acked: number[] = [];
  let stop = false;
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let n = 0; !stop; n++) acked.push(ok(t, await store.create(`/j/${w}/${n}`, () => 'v')));
  });
  await waitUntil(() => acked.length >= 1000);
  const from = Math.min(...acked.slice(0, 50));
  const sub = cache.subscribe('/j/', from);
  const got: number[] = [];
  const reading = (async () => {
    for await (const batch of sub.batches()) got.push(...batch.map((e) => e.revision));
  })();
  await waitUntil(() => acked.length >= 2000);
  stop = true;
  await Promise.all(writers);
  const expected = acked.filter((r) => r > from).sort((x, y) => x - y);
  await waitUntil(() => got.length >= expected.length);
  sub.close();
  await reading;
  t.same(got, expected, 'the reader kept up: every event after the start, once, in order');
});

t.test('a subscriber that stops reading is ended; writers and other subscribers carry on', async (t) => {
  const { store, cache } = await setup(t, { capacity: 50 });
  const slow = cache.subscribe('/s/', cache.revision());
  const fast = cache.subscribe('/s/', cache.revision());
  const got = collect(fast, 200);
  for (let i = 0; i < 200; i++) ok(t, await store.create(`/s/${i}`, () => 'v'));
  t.equal((await got).length, 200, 'the reading subscriber got every event');
  const e = await rejection(slow.next());
  t.ok(WatchTooSlowError.isInstance(e), `the idle subscriber ended with WatchTooSlowError (${String(e)})`);
  t.equal(cache.subscriberCount(), 1);
  fast.close();
});

t.test('a new cache (as after a restart) resumes old watches, preloaded or not', async (t) => {
  const { store } = await setup(t);
  const revs: number[] = [];
  for (let i = 0; i < 20; i++) revs.push(ok(t, await store.create(`/p/${i}`, () => `${i}`)));
  for (const preload of [0, 10]) {
    const cache = new WatchCache(store, { preload });
    t.equal(cache.oldestRevision(), (revs[19] as number) - preload);
    const w = cache.subscribe('/p/', revs[2] as number);
    t.same(
      (await collect(w, 17)).map((e) => e.revision),
      revs.slice(3),
      `preload ${preload}`,
    );
    w.close();
    cache.close();
  }
});

t.test('list then subscribe at the list revision: no gap, no duplicate', async (t) => {
  const { store, cache } = await setup(t);
  const acked = new Map<string, number>();
  let stop = false;
  const writers = Array.from({ length: 16 }, async (_, w) => {
    for (let n = 0; !stop; n++) {
      const key = `/h/${w}/${n}`;
      acked.set(key, ok(t, await store.create(key, () => 'v')));
    }
  });
  await waitUntil(() => acked.size > 300);
  const list = await store.list({ prefix: '/h/' });
  const w = cache.subscribe('/h/', list.revision);
  await waitUntil(() => acked.size > 1500);
  stop = true;
  await Promise.all(writers);
  const newer = [...acked.values()].filter((r) => r > list.revision).length;
  const events = await collect(w, newer);
  w.close();
  const seen = new Set([...list.items.map((i) => i.key), ...events.map((e) => e.key)]);
  t.equal(list.items.length + events.length, acked.size, 'each write exactly once across list and watch');
  t.equal(seen.size, acked.size, 'no write missing');
});

t.test('closing the cache ends subscribers normally; a closed store ends them with an error', async (t) => {
  const { store, cache } = await setup(t);
  const w = cache.subscribe('/', cache.revision());
  const pending = w.next();
  cache.close();
  t.equal(await pending, undefined);
  t.ok(StoreClosedError.isInstance(thrown(() => cache.subscribe('/', 0))));

  const second = new WatchCache(store, { preload: 0 });
  const w2 = second.subscribe('/', second.revision());
  const waiting = rejection(second.waitFor(store.revision() + 5));
  const controller = new AbortController();
  const aborted = second.waitFor(store.revision() + 5, controller.signal);
  controller.abort(new Error('gave up'));
  t.match(await rejection(aborted), { message: 'gave up' }, 'waitFor honours its signal');
  await store.close();
  t.ok(StoreClosedError.isInstance(await rejection(w2.next())), 'store closed: StoreClosedError');
  t.ok(StoreClosedError.isInstance(await waiting), 'pending waitFor rejects too');
  second.close();
});

t.test('1,000 subscribers on 100 prefixes while writing: every event delivered', async (t) => {
  const { store, cache } = await setup(t);
  const start = cache.revision();
  const subs = Array.from({ length: 1000 }, (_, i) => cache.subscribe(`/n/${i % 100}/`, start));
  const latencies: number[] = [];
  const written = new Map<number, number>(); // revision -> time acknowledged
  const readers = subs.map(async (s) => {
    let count = 0;
    while (count < 20) {
      const batch = await s.next();
      if (!batch) break;
      const now = performance.now();
      for (const e of batch) latencies.push(now - (written.get(e.revision) ?? now));
      count += batch.length;
    }
    return count;
  });
  // 2,000 writes, 20 per prefix, from 20 concurrent writers.
  await Promise.all(
    Array.from({ length: 20 }, async (_, w) => {
      for (let i = 0; i < 100; i++) {
        const n = w * 100 + i;
        const rev = ok(t, await store.create(`/n/${n % 100}/${n}`, () => 'x'.repeat(200)));
        written.set(rev, performance.now());
      }
    }),
  );
  const counts = await Promise.all(readers);
  t.ok(
    counts.every((c) => c === 20),
    'each subscriber saw exactly its prefix',
  );
  latencies.sort((a, b) => a - b);
  const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? 0;
  t.comment(`20,000 deliveries, delivery after acknowledgement p99 ${p99.toFixed(2)} ms`);
  for (const s of subs) s.close();
});
