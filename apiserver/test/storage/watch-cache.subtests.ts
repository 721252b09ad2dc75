// WatchCache on a real LevelStore: fan-out by prefix, resume from the window, 410 when too old, slow
// subscribers ended without harming others, list/watch hand-off, and 1,000 concurrent watchers.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CompactedError, StoreClosedError, WatchTooSlowError, type StoreEvent } from '../../src/storage/interface.js';
import { LevelStore } from '../../src/storage/level-store.js';
import {
  WatchCache,
  type CacheWatcher,
  type WatchCacheOptions,
  type WatchTrigger,
} from '../../src/storage/watch-cache.js';
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

t.test('the window holds at most maxBytes of event text; older watches replay the store', async (t) => {
  const { store, cache } = await setup(t, { maxBytes: 5000 });
  const revs: number[] = [];
  for (let i = 0; i < 20; i++) revs.push(ok(t, await store.create(`/b/${i}`, () => 'x'.repeat(1000))));
  await cache.waitFor(revs[19] as number);
  t.ok(
    cache.oldestRevision() >= (revs[14] as number),
    `about 4 of 20 one-kilobyte events kept (oldest ${cache.oldestRevision()})`,
  );
  const old = cache.subscribe('/b/', revs[0] as number);
  t.same(
    (await collect(old, 19)).map((e) => e.revision),
    revs.slice(1),
    'from the store, then the window',
  );
  old.close();
});

t.test('a catch-up from history joins the window under concurrent writes without gap or repeat', async (t) => {
  // A window of 1,000: on a loaded machine a reader replaying history may trail the writers by a few hundred.
  const { store, cache } = await setup(t, { capacity: 1000 });
  const acked: number[] = [];
  let stop = false;
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let n = 0; !stop; n++) acked.push(ok(t, await store.create(`/j/${w}/${n}`, () => 'v')));
  });
  await waitUntil(() => acked.length >= 1500);
  const from = Math.min(...acked.slice(0, 50));
  const sub = cache.subscribe('/j/', from);
  const got: number[] = [];
  const reading = (async () => {
    for await (const batch of sub.batches()) got.push(...batch.map((e) => e.revision));
  })();
  await waitUntil(() => acked.length >= 3000);
  stop = true;
  await Promise.all(writers);
  const expected = acked.filter((r) => r > from).sort((x, y) => x - y);
  await waitUntil(() => got.length >= expected.length);
  sub.close();
  await reading;
  t.same(got, expected, 'the reader kept up: every event after the start, once, in order');
});

/** A trigger on the node a value names ("node-1:payload"), as the API server's is on spec.nodeName. */
const onNode = (value: string): WatchTrigger => ({
  name: 'node',
  value,
  valuesOf: (e) => [e.value?.split(':')[0], e.prevValue?.split(':')[0]],
});

t.test('a triggered subscriber gets only the events whose value was or is its own, moves out included', async (t) => {
  const { store, cache } = await setup(t);
  const start = cache.revision();
  const a = cache.subscribe('/p/', start, onNode('node-a'));
  const b = cache.subscribe('/p/', start, onNode('node-b'));
  const all = cache.subscribe('/p/', start);
  const r1 = ok(t, await store.create('/p/1', () => 'node-a:one'));
  const r2 = ok(t, await store.create('/p/2', () => 'node-b:two'));
  const r3 = ok(t, await store.update('/p/1', r1, () => 'node-b:moved'));
  const r4 = ok(t, await store.delete('/p/2'));
  const r5 = ok(t, await store.create('/q/1', () => 'node-a:other prefix'));
  await cache.waitFor(r5);
  t.same(
    (await collect(a, 2)).map((e) => e.revision),
    [r1, r3],
    'node-a: its create, and the update that moved the object away',
  );
  t.same(
    (await collect(b, 3)).map((e) => e.revision),
    [r2, r3, r4],
    'node-b: its create, the object moving in, its delete',
  );
  t.same(
    (await collect(all, 4)).map((e) => e.revision),
    [r1, r2, r3, r4],
  );
  t.ok(a.progressRevision() >= r4, 'a bookmark may carry the revision past events it was spared');
  const late = cache.subscribe('/p/', start, onNode('node-a'));
  t.same(
    (await collect(late, 2)).map((e) => e.revision),
    [r1, r3],
    'a triggered watch resumed from the window scans it once for its value',
  );
  for (const w of [a, b, all, late]) w.close();
  t.equal(cache.subscriberCount(), 0);
});

t.test('a triggered watch from before the window replays history, then its queue; quiet watchers stay', async (t) => {
  // A dispatch per write, so no event leaves the window unseen (which would end every parked watcher).
  const { store, cache } = await setup(t, { capacity: 10, dispatchIntervalMs: 0 });
  const first = cache.revision();
  const quiet = cache.subscribe('/quiet/', first);
  const quietNode = cache.subscribe('/n/', first, onNode('node-z'));
  const waiting = [quiet.next(), quietNode.next()];
  const mine: number[] = [];
  for (let i = 0; i < 30; i++) {
    const rev = ok(t, await store.create(`/n/${i}`, () => `node-${i % 3}:v`));
    if (i % 3 === 0) mine.push(rev);
    await cache.waitFor(rev);
    await new Promise((resolve) => setImmediate(resolve)); // the dispatch of that event has run
  }
  await cache.waitFor(store.revision());
  const old = cache.subscribe('/n/', first, onNode('node-0'));
  t.same(
    (await collect(old, 10)).map((e) => e.revision),
    mine,
    'history first, only its value',
  );
  const live = ok(t, await store.create('/n/live', () => 'node-0:live'));
  ok(t, await store.create('/n/other', () => 'node-1:live'));
  t.same(
    (await collect(old, 1)).map((e) => e.revision),
    [live],
    'then live from its queue, without a gap or repeat',
  );
  t.equal(cache.subscriberCount(), 3, 'watchers whose events never came were not ended by the others');
  const q = ok(t, await store.create('/quiet/1', () => 'node-z:late'));
  const z = ok(t, await store.create('/n/z', () => 'node-z:late'));
  t.same(
    (await Promise.all(waiting)).map((batch) => batch?.map((e) => e.revision)),
    [[q], [z]],
    'and still get their first event, long after the window moved on',
  );
  for (const w of [quiet, quietNode, old]) w.close();
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
