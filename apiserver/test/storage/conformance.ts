// The Store contract as a test suite: every backend (level now, etcd later) runs it through its own fixture.

import type { Test } from 'tap';
import {
  CompactedError,
  StoreClosedError,
  type Store,
  type StoreEvent,
  type Watcher,
  type WriteResult,
} from '../../src/storage/interface.js';

/** How the suite gets stores: each subtest makes its own fixture (a fresh, empty location). */
export interface StoreFixture {
  /** Open the store on the fixture's location. */
  open(): Promise<Store>;
  /** Remove whatever the fixture created (after its stores are closed). */
  cleanup(): Promise<void>;
}

export function storeConformance(t: Test, makeFixture: () => Promise<StoreFixture>): void {
  /** Run `body` with a freshly opened store, closing it and cleaning up afterwards. */
  const withStore = (name: string, body: (t: Test, store: Store, fixture: StoreFixture) => Promise<void>): void => {
    t.test(name, async (t) => {
      const fixture = await makeFixture();
      const opened: Store[] = [];
      const open = async (): Promise<Store> => {
        const s = await fixture.open();
        opened.push(s);
        return s;
      };
      t.teardown(async () => {
        for (const s of opened) await s.close();
        await fixture.cleanup();
      });
      await body(t, await open(), { open, cleanup: fixture.cleanup });
    });
  };

  withStore('every write gets the next global revision; it becomes modRevision', async (t, store) => {
    const start = store.revision();
    const a = ok(t, await store.create('/r/a', (rev) => `{"rv":${rev}}`));
    t.ok(a > start, 'create advances the revision');
    t.equal(store.revision(), a, 'revision() is the newest acknowledged write');
    const b = ok(t, await store.create('/r/b', () => '{}'));
    t.ok(b > a, 'revisions increase across keys');
    const a2 = ok(t, await store.update('/r/a', a, (rev) => `{"rv":${rev}}`));
    t.ok(a2 > b);
    const got = await store.get('/r/a');
    t.same(
      got,
      { key: '/r/a', value: `{"rv":${a2}}`, modRevision: a2, createRevision: a },
      'render saw its own revision',
    );
    const d = ok(t, await store.delete('/r/a'));
    t.ok(d > a2, 'delete takes a revision too');
    t.equal(await store.get('/r/a'), undefined, 'deleted key is gone');
    const again = ok(t, await store.create('/r/a', () => '{}'));
    t.equal((await store.get('/r/a'))?.createRevision, again, 'createRevision resets when a key is created again');
  });

  withStore('failed preconditions write nothing and report the current value', async (t, store) => {
    const a = ok(t, await store.create('/p/a', () => 'one'));
    const before = store.revision();
    let rendered = 0;
    const exists = await store.create('/p/a', () => {
      rendered++;
      return 'two';
    });
    t.match(exists, { ok: false, reason: 'exists', current: { key: '/p/a', value: 'one', modRevision: a } });
    t.same(await store.update('/p/missing', 1, () => 'x'), { ok: false, reason: 'not-found' });
    const stale = await store.update('/p/a', a - 1, () => {
      rendered++;
      return 'three';
    });
    t.match(stale, { ok: false, reason: 'conflict', current: { value: 'one', modRevision: a } });
    t.match(await store.delete('/p/a', a + 1000), { ok: false, reason: 'conflict', current: { modRevision: a } });
    t.same(await store.delete('/p/missing'), { ok: false, reason: 'not-found' });
    t.equal(rendered, 0, 'render is not called when the precondition fails');
    t.equal(store.revision(), before, 'no revision was used');
    t.equal((await store.get('/p/a'))?.value, 'one');
    ok(t, await store.delete('/p/a', a));
  });

  withStore('a render that throws fails only its own write', async (t, store) => {
    const boom = new Error('render failed');
    const results = await Promise.allSettled([
      store.create('/e/a', () => 'a'),
      store.create('/e/b', () => {
        throw boom;
      }),
      store.create('/e/c', () => 'c'),
    ]);
    t.equal(results[0]?.status, 'fulfilled');
    t.same(results[1], { status: 'rejected', reason: boom });
    t.equal(results[2]?.status, 'fulfilled');
    t.equal(await store.get('/e/b'), undefined);
    t.equal((await store.list({ prefix: '/e/' })).items.length, 2);
  });

  withStore('list pages through a prefix in key order', async (t, store) => {
    for (let i = 0; i < 25; i++) ok(t, await store.create(`/l/a/${String(i).padStart(2, '0')}`, () => `${i}`));
    ok(t, await store.create('/l/b/00', () => 'b'));
    ok(t, await store.create('/l/a', () => 'not under /l/a/'));
    const all = await store.list({ prefix: '/l/a/' });
    t.equal(all.items.length, 25);
    t.equal(all.next, undefined);
    t.equal(all.revision, store.revision(), 'a list reports the revision it reflects');
    t.same(
      all.items.map((i) => i.key),
      [...Array(25).keys()].map((i) => `/l/a/${String(i).padStart(2, '0')}`),
    );
    const keys: string[] = [];
    let startAfter: string | undefined;
    let pages = 0;
    do {
      const page = await store.list(
        startAfter === undefined ? { prefix: '/l/a/', limit: 10 } : { prefix: '/l/a/', limit: 10, startAfter },
      );
      t.ok(page.items.length <= 10);
      keys.push(...page.items.map((i) => i.key));
      startAfter = page.next;
      if (page.next !== undefined) t.equal(page.next, page.items[page.items.length - 1]?.key);
      pages++;
    } while (startAfter !== undefined && pages < 10);
    t.equal(pages, 3);
    t.same(
      keys,
      all.items.map((i) => i.key),
      'pages join up without gaps or repeats',
    );
    const exact = await store.list({ prefix: '/l/a/', limit: 25 });
    t.equal(exact.next, undefined, 'no next when the page ends the prefix');

    const even = await store.list({ prefix: '/l/a/', limit: 5, filter: (i) => Number(i.value) % 2 === 0 });
    t.same(
      even.items.map((i) => i.value),
      ['0', '2', '4', '6', '8'],
      'the filter runs before the limit',
    );
    t.equal(even.next, '/l/a/08');
    const rest = await store.list({ prefix: '/l/a/', startAfter: '/l/a/08', filter: (i) => Number(i.value) % 2 === 0 });
    t.same(
      rest.items.map((i) => i.value),
      ['10', '12', '14', '16', '18', '20', '22', '24'],
    );
    t.same((await store.list({ prefix: '/l/nothing/' })).items, []);
  });

  withStore('a list is exactly the state at its revision, even under concurrent writes', async (t, store) => {
    const acked: number[] = [];
    let stop = false;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let n = 0; !stop; n++) acked.push(ok(t, await store.create(`/c/${w}/${n}`, (rev) => `${rev}`)));
    });
    for (let i = 0; i < 20; i++) {
      const list = await store.list({ prefix: '/c/' });
      const inList = new Set(list.items.map((item) => item.modRevision));
      const bad = list.items.filter((item) => item.modRevision > list.revision || item.value !== `${item.modRevision}`);
      t.equal(bad.length, 0, `list ${i}: no item newer than the list's revision ${list.revision}`);
      const missing = acked.filter((rev) => rev <= list.revision && !inList.has(rev));
      t.equal(missing.length, 0, `list ${i}: every write at or below revision ${list.revision} is in it`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    stop = true;
    await Promise.all(writers);
  });

  withStore('watch replays history after a revision, then streams live events, in order', async (t, store) => {
    const r0 = store.revision();
    const a1 = ok(t, await store.create('/w/a', () => 'a1'));
    ok(t, await store.create('/x/other', () => 'ignored'));
    const a2 = ok(t, await store.update('/w/a', a1, () => 'a2'));
    const watcher = store.watch('/w/', r0);
    const replayed = await take(watcher, 2);
    t.same(replayed, [
      { type: 'PUT', key: '/w/a', revision: a1, value: 'a1' },
      { type: 'PUT', key: '/w/a', revision: a2, value: 'a2', prevValue: 'a1' },
    ]);
    const live = take(watcher, 2);
    const b = ok(t, await store.create('/w/b', () => 'b'));
    const d = ok(t, await store.delete('/w/a'));
    t.same(await live, [
      { type: 'PUT', key: '/w/b', revision: b, value: 'b' },
      { type: 'DELETE', key: '/w/a', revision: d, prevValue: 'a2' },
    ]);
    watcher.close();
    const after = store.watch('/w/', a2);
    t.same(
      (await take(after, 2)).map((e) => e.revision),
      [b, d],
      'a watch from a revision starts strictly after it',
    );
    after.close();
  });

  withStore('closing a watcher ends its iteration', async (t, store) => {
    const watcher = store.watch('/z/', store.revision());
    const done = (async () => {
      const seen: StoreEvent[] = [];
      for await (const e of watcher.events) seen.push(e);
      return seen;
    })();
    ok(t, await store.create('/z/a', () => 'a'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    watcher.close();
    t.equal((await done).length, 1);
  });

  withStore('no gap or duplicate across the replay/live boundary under concurrent writes', async (t, store) => {
    const acked: number[] = [];
    let stop = false;
    const writers = Array.from({ length: 16 }, async (_, w) => {
      for (let n = 0; !stop; n++) acked.push(ok(t, await store.create(`/b/${w}/${n}`, () => 'v')));
    });
    // Counts of writes, not time: a loaded machine (etcd fsyncs each) takes its time, and the writers stop
    // even if it takes too long, so a failure here leaves the store to close.
    let watcher: ReturnType<Store['watch']>;
    let from: number;
    try {
      await waitUntil(() => acked.length >= 100, 60_000);
      from = Math.max(...acked.slice(0, 50));
      watcher = store.watch('/b/', from);
      await waitUntil(() => acked.length >= 500, 60_000);
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    const expected = acked.filter((r) => r > from).sort((x, y) => x - y);
    const got = (await take(watcher, expected.length)).map((e) => e.revision);
    watcher.close();
    t.same(got, expected, `all ${expected.length} events after ${from}, each once, in revision order`);
  });

  withStore('compaction drops history; watching from before it fails with CompactedError', async (t, store) => {
    const revs: number[] = [];
    for (let i = 0; i < 10; i++) revs.push(ok(t, await store.create(`/k/${i}`, () => `${i}`)));
    const mid = revs[4] as number;
    await store.compact(mid);
    t.equal(store.compactedRevision(), mid);
    const e = thrown(() => store.watch('/k/', mid - 1));
    t.ok(
      CompactedError.isInstance(e) && e.requested === mid - 1 && e.oldest === mid,
      'CompactedError with both revisions',
    );
    const watcher = store.watch('/k/', mid);
    t.same(
      (await take(watcher, 5)).map((e) => e.revision),
      revs.slice(5),
      'history after the mark survives',
    );
    watcher.close();
    await store.compact(revs[2] as number);
    t.equal(store.compactedRevision(), mid, 'compaction never moves backwards');
    t.equal((await store.list({ prefix: '/k/' })).items.length, 10, 'compaction keeps current data');
  });

  withStore('data, revision and compaction survive close and reopen', async (t, store, fixture) => {
    const a = ok(t, await store.create('/o/a', (rev) => `a@${rev}`));
    const b = ok(t, await store.create('/o/b', () => 'b'));
    const d = ok(t, await store.delete('/o/b'));
    await store.compact(a);
    await store.close();
    t.ok(StoreClosedError.isInstance(await rejection(store.create('/o/c', () => 'c'))), 'writes after close fail');
    const again = await fixture.open();
    t.equal(again.revision(), d, 'revision survives');
    t.equal(again.compactedRevision(), a, 'compaction mark survives');
    t.same(await again.get('/o/a'), { key: '/o/a', value: `a@${a}`, modRevision: a, createRevision: a });
    t.equal(await again.get('/o/b'), undefined);
    const watcher = again.watch('/o/', a);
    t.same(
      (await take(watcher, 2)).map((e) => [e.type, e.revision]),
      [
        ['PUT', b],
        ['DELETE', d],
      ],
      'history survives',
    );
    watcher.close();
    const c = ok(t, await again.create('/o/c', () => 'c'));
    t.ok(c > d, 'new writes continue after the old revision');
  });

  withStore('many concurrent writers are all acknowledged with distinct revisions', async (t, store) => {
    const start = store.revision();
    const creates = await Promise.all(
      Array.from({ length: 500 }, (_, i) => store.create(`/m/${i}`, (rev) => `${rev}`)),
    );
    const revs = creates.map((r) => ok(t, r));
    t.equal(new Set(revs).size, 500, 'distinct');
    t.equal(Math.min(...revs), start + 1);
    t.equal(store.revision(), Math.max(...revs));
    // Everyone updates the same key at the revision they read: exactly one wins per round.
    const key = '/m/0';
    const rev0 = revs[0] as number;
    const updates = await Promise.all(Array.from({ length: 50 }, () => store.update(key, rev0, () => 'mine')));
    t.equal(updates.filter((u) => u.ok).length, 1, 'exactly one conditional update wins');
    t.equal(updates.filter((u) => !u.ok && u.reason === 'conflict').length, 49);
    const list = await store.list({ prefix: '/m/' });
    t.equal(list.items.length, 500);
    t.ok(list.items.every((i) => i.key === key || i.value === `${i.modRevision}`));
  });
}

/** The revision of a successful write, failing the test otherwise. */
export function ok(t: Test, result: WriteResult): number {
  if (!result.ok) {
    t.fail(`write failed: ${result.reason}`);
    return -1;
  }
  return result.revision;
}

/** The next `n` events of a watcher (which stays usable), failing after `timeoutMs`. */
export async function take(watcher: Watcher, n: number, timeoutMs = 10_000): Promise<StoreEvent[]> {
  const it = iterators.get(watcher) ?? watcher.events[Symbol.asyncIterator]();
  iterators.set(watcher, it);
  const out: StoreEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      it.next(),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), deadline - Date.now()))),
    ]);
    clearTimeout(timer);
    if (next === 'timeout') throw new Error(`timed out after ${out.length} of ${n} events`);
    if (next.done) throw new Error(`watch ended after ${out.length} of ${n} events`);
    out.push(next.value);
  }
  return out;
}
const iterators = new WeakMap<Watcher, AsyncIterator<StoreEvent>>();

/** What `fn` throws (undefined when it returns). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** What `p` rejects with (undefined when it fulfils). */
export function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

export async function waitUntil(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
