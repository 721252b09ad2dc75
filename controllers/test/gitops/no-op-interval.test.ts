// A Sync pass over an unchanged revision writes nothing: every object re-applied server-side is a no-op, the
// Sync's and the source's status are unchanged, so the store's revision does not move.
import t from 'tap';
import { eventually, request } from '@berth/testkit';
import { createRepo } from './git-fixtures.js';
import { configMap, gitRepository, startGitOps, sync, syncPath } from './harness.js';

const base = '/apis/berth.dev/v1alpha1/namespaces/default';

t.test('re-applying an unchanged revision of 50 objects makes no write', async (t) => {
  const h = await startGitOps();
  t.teardown(() => h.close());
  const repo = await createRepo();
  t.teardown(() => repo.close());
  const files: Record<string, string> = {};
  for (let i = 0; i < 50; i++) files[`cm-${i}.yaml`] = configMap(`cm-${i}`, { i: String(i), text: 'x'.repeat(100) });
  const c1 = await repo.commit(files);
  await h.post(`${base}/gitrepositories`, gitRepository('src', { url: repo.url, interval: '1h' }));
  await h.post(
    `${base}/syncs`,
    sync('app', { sourceRef: { name: 'src' }, interval: '1s', timeout: '60s', prune: true }),
  );
  t.ok(
    await eventually(
      async () => (await h.get(syncPath('default', 'app')))?.status?.lastAppliedRevision === `main@sha1:${c1}`,
      120_000,
    ),
    'the revision is applied',
  );
  const passes: number[] = [];
  const unobserve = h.gitops.sync.observe(() => passes.push(Date.now()));
  t.teardown(unobserve);
  const revision = async () => {
    const res = await request(h.ts, 'GET', '/api/v1/configmaps?limit=1');
    return (JSON.parse(res.text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  };
  // Settled: the pass after our own status write has run, and the applied revision's Event is written.
  t.ok(
    await eventually(async () => {
      const at = await revision();
      const n = passes.length;
      await eventually(() => passes.length > n, 10_000);
      return (await revision()) === at;
    }, 60_000),
    'settled',
  );
  const before = await revision();
  const syncBefore = await h.get(syncPath('default', 'app'));
  const syncVersion = syncBefore?.metadata.resourceVersion;
  const from = passes.length;
  const start = Date.now();
  // Every 1s interval is a full pass (the drift test shows those passes revert edits); wait for three.
  t.ok(
    await eventually(() => passes.length - from >= 3 && Date.now() - start >= 3000, 30_000),
    'three intervals passed',
  );
  const syncAfter = await h.get(syncPath('default', 'app'));
  if (syncAfter?.metadata.resourceVersion !== syncVersion) {
    const brief = (o: typeof syncAfter) => ({ ...o?.status, inventory: o?.status?.inventory?.entries.length });
    t.comment(JSON.stringify({ before: brief(syncBefore), after: brief(syncAfter) }));
  }
  t.equal(await revision(), before, 'three interval passes over 50 unchanged objects wrote nothing');
  t.equal((await h.get(syncPath('default', 'app')))?.metadata.resourceVersion, syncVersion, 'not even the status');
});
