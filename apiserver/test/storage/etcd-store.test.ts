// EtcdStore passes the Store conformance suite against a real etcd (one member on loopback, each subtest under
// its own key prefix), plus what only the etcd backend has to show: TLS with a client certificate, several stores
// on one etcd, a watch that resumes across an etcd kill -9, three members losing one, revisions carried in values,
// and the kill -9 durability rounds of crash-rounds.ts with etcd killed along with the writer.

import t from 'tap';
import { Etcd3 } from 'etcd3';
import { startTestEtcd, type TestEtcd } from '@berth/testkit';
import { CompactedError } from '../../src/storage/interface.js';
import { EtcdStore, type EtcdStoreOptions } from '../../src/storage/etcd/etcd-store.js';
import { ok, rejection, storeConformance, take } from './conformance.js';
import { crashRounds } from './crash-rounds.js';

const etcd = await startTestEtcd();
t.teardown(() => etcd.close());

const options = (e: TestEtcd, prefix: string): EtcdStoreOptions => ({
  endpoints: [e.endpoint],
  prefix,
  compactionIntervalMs: false,
  ...(e.tls === undefined ? {} : { tls: e.tls }),
});

t.test('conformance', async (t) => {
  storeConformance(t, async () => {
    const prefix = etcd.freshPrefix();
    return { open: () => EtcdStore.open(options(etcd, prefix)), cleanup: async () => undefined };
  });
});

t.test('two stores on one etcd share one revision, and each sees the other through its watch', async (t) => {
  const prefix = etcd.freshPrefix();
  const a = await EtcdStore.open(options(etcd, prefix));
  const b = await EtcdStore.open(options(etcd, prefix));
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const watch = b.watch('/s/', b.revision());
  const first = ok(t, await a.create('/s/x', (rev) => `{"rv":"${rev}"}`));
  t.same(await take(watch, 1), [{ type: 'PUT', key: '/s/x', revision: first, value: `{"rv":"${first}"}` }]);
  t.ok(b.revision() >= first, 'the watch moved the other store on to the write');
  const stale = await b.update('/s/x', first - 1, () => 'never');
  t.match(
    stale,
    { ok: false, reason: 'conflict', current: { modRevision: first } },
    'preconditions hold across stores',
  );
  const second = ok(t, await b.update('/s/x', first, (rev) => `{"rv":"${rev}"}`));
  t.same(await a.get('/s/x'), { key: '/s/x', value: `{"rv":"${second}"}`, modRevision: second, createRevision: first });
  watch.close();

  // One store compacts; a watch the other opens from before the mark fails as it reaches etcd.
  await a.compact(second);
  const late = b.watch('/s/', first - 1);
  const error = await rejection(take(late, 1));
  t.ok(CompactedError.isInstance(error), `410-style CompactedError from etcd: ${String(error)}`);
  t.equal(b.compactedRevision(), second, 'and the other store learnt the mark');
});

t.test('closing watchers together never shuts the client out of etcd', async (t) => {
  const store = await EtcdStore.open(options(etcd, etcd.freshPrefix()));
  t.teardown(() => store.close());
  const from = store.revision();
  const watchers = Array.from({ length: 6 }, () => store.watch('/c/', from));
  const rev = ok(t, await store.create('/c/first', () => 'v'));
  for (const w of watchers) t.equal((await take(w, 1))[0]?.revision, rev);
  for (const w of watchers) w.close();
  // etcd3 opens a member's circuit breaker after three failed calls in a row; closed watches must not count.
  const results = [];
  for (let i = 0; i < 20; i++) results.push(await store.create(`/c/${i}`, () => 'v').catch((e: unknown) => e));
  t.equal(
    results.filter((r) => !(typeof r === 'object' && r !== null && 'ok' in r && r.ok)).length,
    0,
    'every write after the closes succeeds',
  );
});

t.test('a watch resumes without gaps or repeats after etcd is killed and started again', async (t) => {
  const own = await startTestEtcd();
  t.teardown(() => own.close());
  const store = await EtcdStore.open({ ...options(own, ''), requestTimeoutMs: 2000 });
  t.teardown(() => store.close());
  const watch = store.watch('/k/', store.revision());
  const before = ok(t, await store.create('/k/before', () => 'b'));
  t.same(
    (await take(watch, 1)).map((e) => e.revision),
    [before],
  );
  await own.kill();
  t.ok((await rejection(store.create('/k/down', () => 'd'))) instanceof Error, 'a write fails while etcd is down');
  await own.start();
  // The client reconnects by itself; retry the write until etcd takes it.
  let after = -1;
  for (const until = Date.now() + 20_000; after < 0 && Date.now() < until; ) {
    const r = await store.create('/k/after', () => 'a').catch(() => undefined);
    if (r?.ok) after = r.revision;
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.ok(after > before, 'a write succeeds once etcd is back');
  const resumed = await take(watch, 1, 20_000);
  t.same(
    resumed.map((e) => [e.key, e.revision]),
    [['/k/after', after]],
    'the watch delivers the next write once, nothing repeated',
  );
  watch.close();
});

t.test('on three members, writes and a watch carry on while each member in turn is killed', async (t) => {
  const trio = await startTestEtcd({ members: 3 });
  t.teardown(() => trio.close());
  const store = await EtcdStore.open({
    endpoints: trio.endpoints,
    compactionIntervalMs: false,
    requestTimeoutMs: 3000,
  });
  t.teardown(() => store.close());
  const watch = store.watch('/m/', store.revision());
  const acked: number[] = [];
  let failed = 0;
  let longestGapMs = 0;
  for (const victim of [0, 1, 2]) {
    await trio.killMember(victim);
    let done = 0;
    let last = performance.now();
    for (const until = Date.now() + 20_000; done < 10 && Date.now() < until; ) {
      const r = await store.create(`/m/${victim}/${done}`, () => 'v').catch(() => undefined);
      // A create whose answer was lost to the kill may have committed: it then reads back as existing.
      const revision = r?.ok ? r.revision : r?.reason === 'exists' ? r.current?.modRevision : undefined;
      if (revision === undefined) {
        failed++;
        continue;
      }
      acked.push(revision);
      done++;
      longestGapMs = Math.max(longestGapMs, performance.now() - last);
      last = performance.now();
    }
    t.equal(done, 10, `10 writes went through with member ${victim} dead`);
    await trio.startMember(victim);
  }
  t.comment(`${failed} attempts failed; longest wait between two acknowledged writes ${Math.round(longestGapMs)} ms`);
  t.ok(longestGapMs < 5000, 'no outage longer than 5 s');
  const seen = (await take(watch, acked.length, 20_000)).map((e) => e.revision);
  t.same(
    seen,
    [...acked].sort((x, y) => x - y),
    'the watch saw every acknowledged write once, in order',
  );
  watch.close();
});

t.test('TLS with a client certificate', async (t) => {
  const secure = await startTestEtcd({ tls: true });
  t.teardown(() => secure.close());
  const store = await EtcdStore.open(options(secure, ''));
  t.teardown(() => store.close());
  const rev = ok(t, await store.create('/tls/a', (r) => `${r}`));
  t.same(await store.get('/tls/a'), { key: '/tls/a', value: `${rev}`, modRevision: rev, createRevision: rev });
  const tls = secure.tls;
  if (tls === undefined) throw new Error('fixture without TLS');
  const refused = await rejection(
    EtcdStore.open({ endpoints: [secure.endpoint], tls: { ca: tls.ca }, requestTimeoutMs: 3000 }),
  );
  t.ok(refused instanceof Error, `no client certificate, no connection: ${String(refused)}`);
});

t.test("a list page larger than gRPC's default 4 MiB message reads whole", async (t) => {
  const store = await EtcdStore.open(options(etcd, etcd.freshPrefix()));
  t.teardown(() => store.close());
  const big = 'x'.repeat(1024 * 1024);
  for (let i = 0; i < 5; i++) ok(t, await store.create(`/big/${i}`, () => big));
  const list = await store.list({ prefix: '/big/' });
  t.equal(list.items.length, 5);
  t.ok(
    list.items.every((i) => i.value.length === big.length),
    '5 MiB in one page',
  );
});

t.test('values other programs wrote read back as they are; berth values carry their revision', async (t) => {
  const prefix = etcd.freshPrefix();
  const store = await EtcdStore.open(options(etcd, prefix));
  t.teardown(() => store.close());
  const raw = new Etcd3({ hosts: `http://${etcd.endpoint}` });
  t.teardown(() => raw.close());
  await raw.put(`${prefix}/v/foreign`).value('{"written":"by etcdctl"}');
  t.equal((await store.get('/v/foreign'))?.value, '{"written":"by etcdctl"}');
  const rev = ok(t, await store.create('/v/own', (r) => `{"metadata":{"resourceVersion":"${r}"},"n":1234}`));
  t.equal((await store.get('/v/own'))?.value, `{"metadata":{"resourceVersion":"${rev}"},"n":1234}`);
  const list = await store.list({ prefix: '/v/' });
  t.same(
    list.items.map((i) => i.key),
    ['/v/foreign', '/v/own'],
  );
});

t.test('every acknowledged write survives kill -9 of the writer and of etcd (4 rounds)', async (t) => {
  const etcd = await startTestEtcd();
  t.teardown(() => etcd.close());
  await crashRounds(t, {
    rounds: 4,
    // A fresh child's first writes wait for its gRPC connection: give each round time to get going.
    killWindowMs: [800, 800],
    writerArgs: ['etcd', etcd.endpoint],
    open: () => EtcdStore.open({ endpoints: [etcd.endpoint], compactionIntervalMs: false }),
    async afterKill() {
      await etcd.kill();
      await etcd.start();
    },
    minAcks: 50,
  });
});
