// The gitops controller runs in the controller manager (startControllers), as `berth up` starts it: a Sync
// created with plain kubectl applies a git repository's manifests with no extra set-up.
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import t from 'tap';
import { eventually, startTestServer } from '@berth/testkit';
import { createRepo } from './git-fixtures.js';
import { configMap } from './harness.js';

/** The gitops controller's own clone folders of this process (the test server's controllers run in it). */
const ownCloneDirs = async (): Promise<string[]> =>
  (await readdir(tmpdir())).filter((d) => d.startsWith(`berth-gitops-${process.pid}-`));

t.test('startControllers runs the gitrepository and sync controllers', async (t) => {
  const ts = await startTestServer();
  let closed = false;
  t.teardown(() => (closed ? undefined : ts.close()));
  const repo = await createRepo();
  t.teardown(() => repo.close());
  await repo.commit({ 'a.yaml': configMap('from-git', { v: '1' }) });
  const applied = await ts.kubectl(['apply', '-f', '-'], {
    input: `apiVersion: berth.dev/v1alpha1
kind: GitRepository
metadata: {name: src}
spec: {url: "${repo.url}", interval: 1m}
---
apiVersion: berth.dev/v1alpha1
kind: Sync
metadata: {name: app}
spec: {sourceRef: {name: src}, interval: 1m, prune: true}
`,
  });
  t.equal(applied.code, 0, applied.stderr);
  t.ok(
    await eventually(async () => (await ts.kubectl(['get', 'configmap', 'from-git'])).code === 0, 30_000),
    'the manifest in git was applied',
  );
  const wait = await ts.kubectl(['wait', '--for=condition=Ready', 'sync/app', '--timeout=30s']);
  t.equal(wait.code, 0, wait.stderr);
  t.equal((await ownCloneDirs()).length, 1, 'the clones are in a folder the controller manager made');
  closed = true;
  await ts.close();
  t.same(await ownCloneDirs(), [], 'which goes with the controller manager');
});
