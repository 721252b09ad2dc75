// LevelStore passes the Store conformance suite, plus what only the level backend promises: automatic
// compaction, group commit, and ending a watcher that falls too far behind.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { InvalidArgumentError } from '@berth/api';
import { CompactedError, WatchTooSlowError } from '../../src/storage/interface.js';
import { LevelStore, type LevelStoreOptions } from '../../src/storage/level-store.js';
import { ok, rejection, storeConformance, take, thrown, waitUntil } from './conformance.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'berth-level-store-'));
}

t.test('conformance', async (t) => {
  storeConformance(t, async () => {
    const dir = await tempDir();
    return {
      open: () => LevelStore.open({ dir }),
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  });
});

async function openTemp(t: Test, options: Omit<LevelStoreOptions, 'dir'> = {}): Promise<LevelStore> {
  const dir = await tempDir();
  const store = await LevelStore.open({ ...options, dir });
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return store;
}

t.test('automatic compaction keeps a bounded window of history', async (t) => {
  const store = await openTemp(t, { historyRetention: { maxEvents: 20, checkIntervalMs: 20 } });
  for (let i = 0; i < 100; i++) ok(t, await store.create(`/a/${i}`, () => 'v'));
  await waitUntil(() => store.compactedRevision() >= 80);
  t.equal(store.compactedRevision(), 80, 'keeps the newest 20 events');
  t.ok(CompactedError.isInstance(thrown(() => store.watch('/a/', 10))), 'older history is gone');
  const w = store.watch('/a/', 80);
  t.equal((await take(w, 20))[19]?.revision, 100);
  w.close();
});

t.test('age-based compaction drops events older than maxAgeMs', async (t) => {
  const store = await openTemp(t, { historyRetention: { maxAgeMs: 1500, checkIntervalMs: 50 } });
  const old = ok(t, await store.create('/old', () => 'v'));
  await new Promise((resolve) => setTimeout(resolve, 1100)); // samples are taken at most once a second
  ok(t, await store.create('/new', () => 'v'));
  await waitUntil(() => store.compactedRevision() >= old, 5000);
  t.ok(store.compactedRevision() < store.revision(), 'the young event is kept');
});

t.test('concurrent writes share syncs (group commit)', async (t) => {
  const store = await openTemp(t, { historyRetention: false });
  let begin = performance.now();
  for (let i = 0; i < 100; i++) ok(t, await store.create(`/s/${i}`, () => 'x'.repeat(1000)));
  const serial = (performance.now() - begin) / 100;
  t.same(store.stats(), { keys: 100, syncs: 100, writes: 100 }, 'one writer at a time: one sync per write');
  begin = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async (_, w) => {
      for (let i = 0; i < 20; i++) ok(t, await store.create(`/g/${w}/${i}`, () => 'x'.repeat(1000)));
    }),
  );
  const grouped = (performance.now() - begin) / 1280;
  const { syncs, writes } = store.stats();
  t.comment(`per write: serial ${serial.toFixed(3)} ms, 64 concurrent ${grouped.toFixed(3)} ms`);
  t.equal(writes, 1380);
  t.ok(syncs - 100 <= 1280 / 16, `64 concurrent writers shared syncs: ${syncs - 100} syncs for 1280 writes`);
});

t.test('a watcher that stops reading is ended with WatchTooSlowError, writers unaffected', async (t) => {
  const store = await openTemp(t, { watchBufferLimit: 50 });
  const slow = store.watch('/q/', store.revision());
  const fast = store.watch('/q/', store.revision());
  const it = fast.events[Symbol.asyncIterator]();
  let fastSeen = 0;
  const reading = (async () => {
    while (fastSeen < 200) {
      const r = await it.next();
      if (r.done) break;
      fastSeen++;
    }
  })();
  for (let i = 0; i < 200; i++) ok(t, await store.create(`/q/${i}`, () => 'v'));
  await reading;
  t.equal(fastSeen, 200, 'the reading watcher got everything');
  const slowIt = slow.events[Symbol.asyncIterator]();
  const e = await rejection(
    (async () => {
      for (;;) if ((await slowIt.next()).done) return;
    })(),
  );
  t.ok(WatchTooSlowError.isInstance(e) && e.limit === 50, 'the idle watcher ends with WatchTooSlowError');
  fast.close();
});

t.test('a watch from a future revision starts there', async (t) => {
  const store = await openTemp(t);
  const now = store.revision();
  const w = store.watch('/f/', now + 2);
  for (let i = 0; i < 4; i++) ok(t, await store.create(`/f/${i}`, () => 'v'));
  t.same(
    (await take(w, 2)).map((e) => e.revision),
    [now + 3, now + 4],
  );
  w.close();
});

t.test('a list answered from memory equals the same list read from disk', async (t) => {
  // Nothing cached (valueCacheBytes 0) always reads the disk; the default cache answers small lists from memory.
  const disk = await openTemp(t, { valueCacheBytes: 0 });
  const memory = await openTemp(t);
  for (const store of [disk, memory]) {
    for (let i = 0; i < 12; i++) ok(t, await store.create(`/q/ns${i % 3}/n${i}`, () => `${i}`));
    ok(t, await store.create('/q/ns1', () => 'a sibling of the directory /q/ns1/'));
    ok(t, await store.create('/q/ns10/x', () => 'under /q/ns1 but not /q/ns1/'));
    ok(t, await store.update('/q/ns0/n3', 4, () => 'updated'));
    ok(t, await store.delete('/q/ns2/n5'));
  }
  const cases: Array<Parameters<LevelStore['list']>[0]> = [
    { prefix: '/q/' },
    { prefix: '/q/ns1/' },
    { prefix: '/q/ns1' },
    { prefix: '/q/ns0/n' },
    { prefix: '/q/none/' },
    { prefix: '/q/', limit: 4 },
    { prefix: '/q/', limit: 4, startAfter: '/q/ns0/n9' },
    { prefix: '/q/', startAfter: '/a' },
    { prefix: '/q/', limit: 2, filter: (i) => i.value.length > 2 },
    { prefix: '/q/ns1/', limit: 4 },
  ];
  for (const options of cases) {
    t.same(await memory.list(options), await disk.list(options), `list ${JSON.stringify(options)}`);
  }
  t.equal((await memory.list({ prefix: '/q/' })).revision, memory.revision(), 'at the acknowledged revision');
});

t.test('options are checked before opening', async (t) => {
  await t.rejects(LevelStore.open({ dir: '/nonexistent-unused', maxBatch: 0 }), InvalidArgumentError);
  await t.rejects(LevelStore.open({ dir: '/nonexistent-unused', maxBatch: 0 }), { code: 'BERTH_INVALID_ARGUMENT' });
});
