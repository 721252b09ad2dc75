// Triggers: a push webhook signed with the source's HMAC secret makes it fetch at once (and its Syncs apply),
// long before the hour-long interval; a bad signature is refused; `kubectl annotate` with
// reconcile.berth.dev/requestedAt triggers a pass too and is recorded as lastHandledReconcileAt.
import { createHmac } from 'node:crypto';
import t from 'tap';
import { eventually } from '@berth/testkit';
import { createRepo } from './git-fixtures.js';
import { cmPath, condition, configMap, gitRepository, repoPath, startGitOps, sync, syncPath } from './harness.js';

const ns = 'default';
const base = '/apis/berth.dev/v1alpha1/namespaces/default';

t.test('a signed push webhook applies a commit at once; a bad signature is refused', async (t) => {
  const h = await startGitOps({ receiver: { port: 0 } });
  t.teardown(() => h.close());
  const repo = await createRepo();
  t.teardown(() => repo.close());
  const receiver = h.gitops.receiver?.url;
  if (receiver === undefined) throw new Error('the receiver did not start');
  const c1 = await repo.commit({ 'a.yaml': configMap('a', { v: '1' }) });
  await h.post(`/api/v1/namespaces/${ns}/secrets`, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'hook' },
    stringData: { token: 'hook-secret' },
  });
  await h.post(
    `${base}/gitrepositories`,
    gitRepository('src', { url: repo.url, interval: '1h', webhookSecretRef: { name: 'hook' } }),
  );
  await h.post(`${base}/syncs`, sync('app', { sourceRef: { name: 'src' }, interval: '1h' }));
  const applied = async (c: string) =>
    (await h.get(syncPath(ns, 'app')))?.status?.lastAppliedRevision === `main@sha1:${c}`;
  t.ok(await eventually(() => applied(c1), 20_000), 'the first commit is applied');

  const c2 = await repo.commit({ 'a.yaml': configMap('a', { v: '2' }) });
  const body = JSON.stringify({ ref: 'refs/heads/main', after: c2 });
  const post = (path: string, headers: Record<string, string>) =>
    fetch(`${receiver}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

  const forged = await post('/hook/default/src', { 'X-Hub-Signature-256': `sha256=${'0'.repeat(64)}` });
  t.equal(forged.status, 401, 'a wrong signature is refused');
  t.equal((await post('/hook/default/src', {})).status, 401, 'an unsigned call is refused');
  const wrongKey = createHmac('sha256', 'other').update(body).digest('hex');
  t.equal((await post('/hook/default/nosuch', { 'X-Hub-Signature-256': `sha256=${wrongKey}` })).status, 401);
  t.equal((await fetch(`${receiver}/hook/default/src`)).status, 405, 'GET is not a push');
  t.notOk((await h.get(repoPath(ns, 'src')))?.metadata.annotations?.['reconcile.berth.dev/requestedAt']);

  const signature = createHmac('sha256', 'hook-secret').update(body).digest('hex');
  const sent = Date.now();
  const res = await post('/hook/default/src', { 'X-Hub-Signature-256': `sha256=${signature}` });
  t.equal(res.status, 200, 'a GitHub-signed push is accepted');
  t.ok(await eventually(() => applied(c2), 20_000), 'the pushed commit is applied without waiting for the 1h interval');
  const latency = Date.now() - sent;
  t.comment(`webhook → applied: ${latency} ms (goal < 2000 ms; the machine is shared, so indicative)`);
  t.equal((await h.get(cmPath(ns, 'a')))?.data?.['v'], '2');

  // Gitea signs the same way, in its own header.
  const c3 = await repo.commit({ 'a.yaml': configMap('a', { v: '3' }) });
  const gitea = await post('/hook/default/src', {
    'X-Gitea-Signature': createHmac('sha256', 'hook-secret').update(body).digest('hex'),
  });
  t.equal(gitea.status, 200, 'a Gitea-signed push is accepted');
  t.ok(await eventually(() => applied(c3), 20_000));
});

t.test('kubectl annotate requests a reconcile; kubectl get prints the columns', async (t) => {
  const h = await startGitOps();
  t.teardown(() => h.close());
  const repo = await createRepo();
  t.teardown(() => repo.close());
  const c1 = await repo.commit({ 'a.yaml': configMap('a', { v: '1' }) });
  await h.post(`${base}/gitrepositories`, gitRepository('src', { url: repo.url, interval: '1h' }));
  await h.post(`${base}/syncs`, sync('app', { sourceRef: { name: 'src' }, interval: '1h' }));
  t.ok(
    await eventually(
      async () => (await h.get(syncPath(ns, 'app')))?.status?.lastAppliedRevision === `main@sha1:${c1}`,
      20_000,
    ),
  );

  const c2 = await repo.commit({ 'a.yaml': configMap('a', { v: '2' }) });
  const annotate = await h.ts.kubectl([
    'annotate',
    '--overwrite',
    'gitrepository',
    'src',
    'reconcile.berth.dev/requestedAt=first',
  ]);
  t.equal(annotate.code, 0, annotate.stderr);
  t.ok(
    await eventually(
      async () => (await h.get(syncPath(ns, 'app')))?.status?.lastAppliedRevision === `main@sha1:${c2}`,
      20_000,
    ),
    'the annotated source fetched at once and its Sync applied',
  );
  t.equal((await h.get(repoPath(ns, 'src')))?.status?.lastHandledReconcileAt, 'first');

  // A hand edit, then an annotated Sync: reverted at once rather than in an hour.
  await h.patch(cmPath(ns, 'a'), { data: { v: 'hand' } });
  t.equal(
    (await h.ts.kubectl(['annotate', '--overwrite', 'sync', 'app', 'reconcile.berth.dev/requestedAt=second'])).code,
    0,
  );
  t.ok(
    await eventually(async () => (await h.get(cmPath(ns, 'a')))?.data?.['v'] === '2', 20_000),
    'drift reverted on request',
  );
  t.ok(
    await eventually(
      async () => (await h.get(syncPath(ns, 'app')))?.status?.lastHandledReconcileAt === 'second',
      20_000,
    ),
  );

  const repos = await h.ts.kubectl(['get', 'gitrepositories']);
  t.match(repos.stdout, /NAME\s+URL\s+READY\s+STATUS\s+AGE/);
  t.match(repos.stdout, new RegExp(`src\\s+file://\\S+\\s+True\\s+stored artifact for revision 'main@sha1:${c2}'`));
  const wide = await h.ts.kubectl(['get', 'syncs', '-o', 'wide']);
  t.match(wide.stdout, /NAME\s+READY\s+STATUS\s+AGE\s+REVISION\s+SOURCE/);
  t.match(wide.stdout, new RegExp(`app\\s+True\\s+Applied revision: main@sha1:${c2}`));
  t.match((await h.ts.kubectl(['get', 'gitops'])).stdout, /gitrepository\.berth\.dev\/src/, 'the gitops category');
  t.equal(condition(await h.get(syncPath(ns, 'app')), 'Ready')?.status, 'True');

  const bad = await h.ts.kubectl(['apply', '-f', '-'], {
    input:
      'apiVersion: berth.dev/v1alpha1\nkind: GitRepository\nmetadata:\n  name: bad\nspec:\n  url: ftp://x\n  interval: soon\n',
  });
  t.not(bad.code, 0, 'an invalid source is refused by the schema');
  t.match(bad.stderr, /spec\.url/);
  t.match(bad.stderr, /spec\.interval/);
});
