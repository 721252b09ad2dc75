// A Sync pass over an unchanged revision writes nothing: every object re-applied server-side is a no-op, the
// Sync's and the source's status are unchanged, so the store's revision does not move.
import t from 'tap';
import { requestKey } from '@berth/controller-runtime';
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
  await h.post(`${base}/syncs`, sync('app', { sourceRef: { name: 'src' }, interval: '1h', prune: true }));
  t.ok(
    await eventually(
      async () => (await h.get(syncPath('default', 'app')))?.status?.lastAppliedRevision === `main@sha1:${c1}`,
      30_000,
    ),
  );
  // The pass after our own status write, already queued, must finish before the revision is read.
  const passes: number[] = [];
  const unobserve = h.gitops.sync.observe(() => passes.push(Date.now()));
  t.teardown(unobserve);
  const revision = async () => {
    const res = await request(h.ts, 'GET', '/api/v1/configmaps?limit=1');
    return (JSON.parse(res.text) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  };
  await eventually(async () => {
    const before = await revision();
    h.gitops.sync.queue.add(requestKey({ namespace: 'default', name: 'app' }));
    const n = passes.length;
    await eventually(() => passes.length > n, 10_000);
    return (await revision()) === before;
  }, 20_000);

  const before = await revision();
  const syncVersion = (await h.get(syncPath('default', 'app')))?.metadata.resourceVersion;
  for (let round = 0; round < 3; round++) {
    const n = passes.length;
    h.gitops.sync.queue.add(requestKey({ namespace: 'default', name: 'app' }));
    t.ok(await eventually(() => passes.length > n, 10_000), `pass ${round + 1} ran`);
  }
  t.equal(await revision(), before, 'three passes over 50 unchanged objects wrote nothing');
  t.equal((await h.get(syncPath('default', 'app')))?.metadata.resourceVersion, syncVersion, 'not even the status');
});
