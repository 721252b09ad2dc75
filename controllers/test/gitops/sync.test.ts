// Sync against a real API server and a real git repository: a commit's manifests appear (applied server-side
// under berth-gitops), a change changes them, a deleted file's objects are pruned (only what the Sync applied),
// a hand edit is reverted at the next interval, a broken commit (invalid YAML, an object the API rejects)
// changes nothing and says which file and why, dependsOn waits, suspend stops, wait reports health.
import t, { type Test } from 'tap';
import { eventually, request } from '@berth/testkit';
import { createRepo, type TestRepo } from './git-fixtures.js';
import {
  cmPath,
  condition,
  configMap,
  gitRepository,
  startGitOps,
  sync,
  syncPath,
  type GitOpsHarness,
  type Obj,
} from './harness.js';

const ns = 'default';
const base = '/apis/berth.dev/v1alpha1/namespaces/default';

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  if (!(await eventually(check, ms))) throw new Error(`timed out waiting for ${what}`);
}

async function syncOf(h: GitOpsHarness, name: string): Promise<Obj | undefined> {
  return h.get(syncPath(ns, name));
}

async function setup(t: Test): Promise<{ h: GitOpsHarness; repo: TestRepo }> {
  const h = await startGitOps();
  t.teardown(() => h.close());
  const repo = await createRepo();
  t.teardown(() => repo.close());
  return { h, repo };
}

const appliedAt = async (h: GitOpsHarness, name: string, commit: string) =>
  (await syncOf(h, name))?.status?.lastAppliedRevision === `main@sha1:${commit}`;

t.test('add, change, remove (pruned), drift reverted, through the API', async (t) => {
  const { h, repo } = await setup(t);
  const c1 = await repo.commit({
    'deploy/a.yaml': configMap('a', { color: 'red' }),
    'deploy/more.yaml': `${configMap('b', { n: '1' })}---\n${configMap('c', { n: '1' })}`,
    'other/ignored.yaml': configMap('elsewhere', { x: 'y' }),
  });
  await h.post(`${base}/gitrepositories`, gitRepository('src', { url: repo.url, interval: '1s' }));
  await h.post(
    `${base}/syncs`,
    sync('app', { sourceRef: { name: 'src' }, path: './deploy', interval: '1s', prune: true }),
  );
  await until('first revision applied', () => appliedAt(h, 'app', c1));
  const s1 = await syncOf(h, 'app');
  t.equal(condition(s1, 'Ready')?.status, 'True');
  t.equal(condition(s1, 'Ready')?.message, `Applied revision: main@sha1:${c1}`);
  t.same(
    s1?.status?.inventory?.entries.map((e) => e.id).sort(),
    ['default_a__ConfigMap', 'default_b__ConfigMap', 'default_c__ConfigMap'],
    'the inventory lists every applied object',
  );
  const a = await h.get(cmPath(ns, 'a'));
  t.equal(a?.data?.['color'], 'red');
  t.equal(a?.metadata.labels?.['sync.berth.dev/name'], 'app');
  t.ok(
    a?.metadata.managedFields?.some((f) => f.manager === 'berth-gitops' && f.operation === 'Apply'),
    'applied server-side under the field manager berth-gitops',
  );
  t.equal(await h.get(cmPath(ns, 'elsewhere')), undefined, 'files outside spec.path are not applied');
  await until('an Event for the applied revision', async () => {
    const res = await request(h.ts, 'GET', `/api/v1/namespaces/${ns}/events`);
    const items = (
      JSON.parse(res.text) as {
        items: { reason: string; message: string; involvedObject: { kind: string; name: string } }[];
      }
    ).items;
    return items.some(
      (e) =>
        e.involvedObject.kind === 'Sync' &&
        e.involvedObject.name === 'app' &&
        e.reason === 'ReconciliationSucceeded' &&
        e.message.includes(c1),
    );
  });
  t.pass('kubectl describe sync shows a ReconciliationSucceeded Event naming the revision');

  // A ConfigMap nobody in git made: pruning must never touch it.
  await h.post(`/api/v1/namespaces/${ns}/configmaps`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'handmade' },
    data: { k: 'v' },
  });

  const c2 = await repo.commit({
    'deploy/a.yaml': configMap('a', { color: 'blue' }),
    'deploy/more.yaml': configMap('b', { n: '2' }),
  });
  await until('second revision applied', () => appliedAt(h, 'app', c2));
  t.equal((await h.get(cmPath(ns, 'a')))?.data?.['color'], 'blue', 'a change in git changes the object');
  t.equal((await h.get(cmPath(ns, 'b')))?.data?.['n'], '2');
  await until('c pruned', async () => (await h.get(cmPath(ns, 'c'))) === undefined);
  t.ok(await h.get(cmPath(ns, 'handmade')), 'an object the Sync did not apply is never pruned');
  t.same((await syncOf(h, 'app'))?.status?.inventory?.entries.map((e) => e.id).sort(), [
    'default_a__ConfigMap',
    'default_b__ConfigMap',
  ]);

  // Drift: a hand edit of a field git sets is taken back at the next interval (1s here).
  const edited = Date.now();
  await h.patch(cmPath(ns, 'a'), { data: { color: 'green' } });
  t.equal((await h.get(cmPath(ns, 'a')))?.data?.['color'], 'green');
  await until('drift reverted', async () => (await h.get(cmPath(ns, 'a')))?.data?.['color'] === 'blue', 15_000);
  t.comment(`hand edit reverted after ${Date.now() - edited} ms (interval 1s)`);
  t.pass('the hand edit was reverted');

  const c3 = await repo.commit({
    'deploy/a.yaml': null,
    'deploy/more.yaml': null,
    'deploy/keep.yaml': configMap('keep', { k: '1' }),
  });
  await until('third revision applied', () => appliedAt(h, 'app', c3));
  await until(
    'a and b pruned',
    async () => (await h.get(cmPath(ns, 'a'))) === undefined && (await h.get(cmPath(ns, 'b'))) === undefined,
  );
  t.ok(await h.get(cmPath(ns, 'keep')));
});

t.test('a broken commit changes nothing and says which file and why', async (t) => {
  const { h, repo } = await setup(t);
  const c1 = await repo.commit({ 'a.yaml': configMap('a', { v: '1' }) });
  await h.post(`${base}/gitrepositories`, gitRepository('src', { url: repo.url, interval: '1s' }));
  await h.post(`${base}/syncs`, sync('app', { sourceRef: { name: 'src' }, interval: '1s', prune: true }));
  await until('first revision applied', () => appliedAt(h, 'app', c1));

  // Invalid YAML in one file: the other file's change is not applied either, nothing is pruned.
  const c2 = await repo.commit({
    'a.yaml': configMap('a', { v: '2' }),
    'b.yaml': 'apiVersion: v1\nkind: ConfigMap\n  bad: [indent\n',
  });
  await until(
    'second revision attempted',
    async () =>
      (await syncOf(h, 'app'))?.status?.lastAttemptedRevision === `main@sha1:${c2}` &&
      condition(await syncOf(h, 'app'), 'Ready')?.status === 'False',
  );
  let s = await syncOf(h, 'app');
  t.equal(condition(s, 'Ready')?.reason, 'BuildFailed');
  t.match(condition(s, 'Ready')?.message, /b\.yaml: invalid YAML/, 'the message names the file');
  t.equal(s?.status?.lastAppliedRevision, `main@sha1:${c1}`, 'the last good revision stays the applied one');
  t.equal((await h.get(cmPath(ns, 'a')))?.data?.['v'], '1', 'nothing of the broken revision was applied');

  // An object the API rejects (422): the dry run catches it before anything is applied.
  const c3 = await repo.commit({
    'b.yaml': configMap('new-one', { v: '3' }),
    'c.yaml': 'apiVersion: berth.dev/v1alpha1\nkind: Volume\nmetadata:\n  name: v\nspec:\n  driver: nfs\n',
  });
  await until(
    'third revision attempted',
    async () =>
      (await syncOf(h, 'app'))?.status?.lastAttemptedRevision === `main@sha1:${c3}` &&
      /Volume/.test(condition(await syncOf(h, 'app'), 'Ready')?.message ?? ''),
  );
  s = await syncOf(h, 'app');
  t.equal(condition(s, 'Ready')?.status, 'False');
  t.match(
    condition(s, 'Ready')?.message,
    /c\.yaml: Volume\.berth\.dev\/default\/v: .*driver/,
    'names the file, the object and the field',
  );
  t.equal(await h.get(cmPath(ns, 'new-one')), undefined, 'the valid objects of that revision were not applied');
  t.equal((await h.get(cmPath(ns, 'a')))?.data?.['v'], '1');
  t.equal(s?.status?.lastAppliedRevision, `main@sha1:${c1}`);

  const c4 = await repo.commit({ 'c.yaml': null });
  await until('fixed revision applied', () => appliedAt(h, 'app', c4));
  t.equal((await h.get(cmPath(ns, 'a')))?.data?.['v'], '2');
  t.ok(await h.get(cmPath(ns, 'new-one')));
  t.equal(condition(await syncOf(h, 'app'), 'Ready')?.status, 'True');
});

t.test('a missing path, a missing source, dependsOn (and its cycles), suspend', async (t) => {
  const { h, repo } = await setup(t);
  const c1 = await repo.commit({
    'base/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n',
    'apps/a.yaml': configMap('a', { v: '1' }),
  });
  await h.post(`${base}/syncs`, sync('orphan', { sourceRef: { name: 'nosuch' }, interval: '1s' }));
  await until('orphan reports its source', async () =>
    /not found/.test(condition(await syncOf(h, 'orphan'), 'Ready')?.message ?? ''),
  );
  t.equal(condition(await syncOf(h, 'orphan'), 'Ready')?.reason, 'ArtifactFailed');

  await h.post(`${base}/gitrepositories`, gitRepository('src', { url: repo.url, interval: '1s' }));
  await h.post(`${base}/syncs`, sync('nopath', { sourceRef: { name: 'src' }, path: './nope', interval: '1s' }));
  await until('nopath fails', async () =>
    /not found in the artifact/.test(condition(await syncOf(h, 'nopath'), 'Ready')?.message ?? ''),
  );

  // apps depends on base; base is suspended at first, so apps waits.
  await h.post(
    `${base}/syncs`,
    sync('base', { sourceRef: { name: 'src' }, path: './base', interval: '1s', suspend: true }),
  );
  await h.post(
    `${base}/syncs`,
    sync('apps', {
      sourceRef: { name: 'src' },
      path: './apps',
      interval: '1s',
      targetNamespace: 'team',
      dependsOn: [{ name: 'base' }],
    }),
  );
  await until('apps waits', async () => condition(await syncOf(h, 'apps'), 'Ready')?.reason === 'DependencyNotReady');
  t.equal(await h.get('/api/v1/namespaces/team'), undefined, 'a suspended Sync applies nothing');
  await h.patch(syncPath(ns, 'base'), { spec: { suspend: false } });
  await until('apps applied after base', () => appliedAt(h, 'apps', c1));
  t.ok(await h.get('/api/v1/namespaces/team'), 'base created the namespace');
  t.equal((await h.get(cmPath('team', 'a')))?.data?.['v'], '1', 'targetNamespace put the ConfigMap in team');

  // Suspended: a hand edit stays until resumed.
  await h.patch(syncPath(ns, 'apps'), { spec: { suspend: true } });
  await h.patch(cmPath('team', 'a'), { data: { v: 'hand' } });
  const applied = (await syncOf(h, 'apps'))?.status?.lastAppliedRevision;
  const c2 = await repo.commit({ 'apps/a.yaml': configMap('a', { v: '2' }) });
  await until(
    'source moved',
    async () => (await h.get(`${base}/gitrepositories/src`))?.status?.artifact?.revision === `main@sha1:${c2}`,
  );
  await until('base follows', () => appliedAt(h, 'base', c2));
  t.equal((await syncOf(h, 'apps'))?.status?.lastAppliedRevision, applied, 'a suspended Sync does not follow git');
  t.equal((await h.get(cmPath('team', 'a')))?.data?.['v'], 'hand');
  await h.patch(syncPath(ns, 'apps'), { spec: { suspend: false } });
  await until('apps resumed', () => appliedAt(h, 'apps', c2));
  t.equal((await h.get(cmPath('team', 'a')))?.data?.['v'], '2');

  await h.post(`${base}/syncs`, sync('x', { sourceRef: { name: 'src' }, interval: '1s', dependsOn: [{ name: 'y' }] }));
  await h.post(`${base}/syncs`, sync('y', { sourceRef: { name: 'src' }, interval: '1s', dependsOn: [{ name: 'x' }] }));
  await until('cycle stalls', async () => condition(await syncOf(h, 'x'), 'Stalled')?.reason === 'DependencyCycle');
  t.match(condition(await syncOf(h, 'x'), 'Stalled')?.message, /default\/x -> default\/y -> default\/x/);
});

t.test(
  'wait: CRDs first, then their objects; Ready only once a Container reports Ready, Healthy says which is not',
  async (t) => {
    const { h, repo } = await setup(t);
    // A user CRD whose objects carry a Ready condition, applied in the same revision as its objects.
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {plural: widgets, singular: widget, kind: Widget}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      subresources: {status: {}}
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
`;
    const c1 = await repo.commit({
      'crd.yaml': crd,
      'w.yaml': 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 1\n',
      'web.yaml': 'apiVersion: berth.dev/v1alpha1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: busybox\n',
    });
    await h.post(`${base}/gitrepositories`, gitRepository('src', { url: repo.url, interval: '1s' }));
    await h.post(
      `${base}/syncs`,
      sync('app', { sourceRef: { name: 'src' }, interval: '2s', wait: true, timeout: '3s' }),
    );
    await until('health fails', async () => condition(await syncOf(h, 'app'), 'Healthy')?.status === 'False').catch(
      async (err: unknown) => {
        throw new Error(`${String(err)}: ${JSON.stringify((await syncOf(h, 'app'))?.status)}`);
      },
    );
    const s = await syncOf(h, 'app');
    t.equal(condition(s, 'Ready')?.reason, 'HealthCheckFailed');
    t.equal(s?.status?.lastAppliedRevision, `main@sha1:${c1}`, 'applied, though not healthy yet');
    t.ok(
      s?.status?.inventory?.entries.some(
        (e) => e.id === '_widgets.example.com_apiextensions.k8s.io_CustomResourceDefinition',
      ),
    );
    t.ok(await h.get('/apis/example.com/v1/namespaces/default/widgets/w'), 'the CRD was applied before its objects');
    t.match(condition(s, 'Healthy')?.message, /Container\.berth\.dev\/default\/web: no Ready condition yet/);
    t.notMatch(condition(s, 'Healthy')?.message, /Widget/, 'an object without conditions is healthy once it exists');

    // No node agent runs here: the test plays the Container's controller and reports it Ready.
    const put = await request(h.ts, 'PATCH', '/apis/berth.dev/v1alpha1/namespaces/default/containers/web/status', {
      body: JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Up', message: '' }] } }),
      contentType: 'application/merge-patch+json',
    });
    t.equal(put.status, 200, 'the Container reports Ready');
    await until('healthy', async () => condition(await syncOf(h, 'app'), 'Ready')?.status === 'True');
    t.equal(condition(await syncOf(h, 'app'), 'Healthy')?.status, 'True');
  },
);

t.test('a kustomize overlay is built with kubectl kustomize: base, namePrefix, commonLabels, patches', async (t) => {
  const { h, repo } = await setup(t);
  const c1 = await repo.commit({
    'base/kustomization.yaml': 'resources:\n  - cm.yaml\n',
    'base/cm.yaml': configMap('settings', { level: 'debug', keep: 'yes' }),
    'overlays/prod/kustomization.yaml': [
      'resources:',
      '  - ../../base',
      'namePrefix: prod-',
      'commonLabels:',
      '  env: prod',
      'patches:',
      '  - patch: |-',
      '      apiVersion: v1',
      '      kind: ConfigMap',
      '      metadata:',
      '        name: settings',
      '      data:',
      '        level: warn',
      '',
    ].join('\n'),
  });
  await h.post(`${base}/gitrepositories`, gitRepository('src', { url: repo.url, interval: '1s' }));
  await h.post(
    `${base}/syncs`,
    sync('prod', { sourceRef: { name: 'src' }, path: './overlays/prod', interval: '1s', prune: true }),
  );
  await until('overlay applied', () => appliedAt(h, 'prod', c1));
  const cm = await h.get(cmPath(ns, 'prod-settings'));
  t.equal(cm?.data?.['level'], 'warn', 'the patch applied');
  t.equal(cm?.data?.['keep'], 'yes', 'the base kept');
  t.equal(cm?.metadata.labels?.['env'], 'prod', 'commonLabels applied');
  t.equal(await h.get(cmPath(ns, 'settings')), undefined, 'the base alone is not applied');

  const c2 = await repo.commit({ 'overlays/prod/kustomization.yaml': 'resources:\n  - ../../nope\n' });
  await until(
    'broken overlay reported',
    async () =>
      (await syncOf(h, 'prod'))?.status?.lastAttemptedRevision === `main@sha1:${c2}` &&
      condition(await syncOf(h, 'prod'), 'Ready')?.reason === 'BuildFailed',
  );
  t.match(
    condition(await syncOf(h, 'prod'), 'Ready')?.message,
    /overlays\/prod\/kustomization\.yaml: kustomize build failed/,
  );
  t.ok(await h.get(cmPath(ns, 'prod-settings')), 'a failed build prunes nothing');
});

t.test('deleting a Sync with prune deletes what it applied; without prune its objects stay', async (t) => {
  const { h, repo } = await setup(t);
  const c1 = await repo.commit({
    'a/a.yaml': configMap('pruned-with-sync', { v: '1' }),
    'b/b.yaml': configMap('left', { v: '1' }),
  });
  await h.post(`${base}/gitrepositories`, gitRepository('src', { url: repo.url, interval: '1s' }));
  await h.post(
    `${base}/syncs`,
    sync('with-prune', { sourceRef: { name: 'src' }, path: './a', interval: '1s', prune: true }),
  );
  await h.post(`${base}/syncs`, sync('no-prune', { sourceRef: { name: 'src' }, path: './b', interval: '1s' }));
  await until(
    'both applied',
    async () => (await appliedAt(h, 'with-prune', c1)) && (await appliedAt(h, 'no-prune', c1)),
  );
  t.same((await syncOf(h, 'with-prune'))?.metadata.finalizers, ['sync.berth.dev/finalizer'], 'prune holds a finalizer');
  t.notOk((await syncOf(h, 'no-prune'))?.metadata.finalizers?.length, 'no prune, no finalizer');

  await h.del(syncPath(ns, 'with-prune'));
  await h.del(syncPath(ns, 'no-prune'));
  await until('the pruning Sync is gone with its objects', async () => (await syncOf(h, 'with-prune')) === undefined);
  t.equal(await h.get(cmPath(ns, 'pruned-with-sync')), undefined, 'its object went first');
  await until('the other Sync is gone', async () => (await syncOf(h, 'no-prune')) === undefined);
  t.ok(await h.get(cmPath(ns, 'left')), 'without prune, deleting the Sync leaves its objects');
});

t.test('an immutable field change fails without force; with force the object is recreated', async (t) => {
  const { h, repo } = await setup(t);
  const immutable = (v: string) => `${configMap('frozen', { v })}immutable: true\n`;
  const c1 = await repo.commit({ 'a.yaml': immutable('1') });
  await h.post(`${base}/gitrepositories`, gitRepository('src', { url: repo.url, interval: '1s' }));
  await h.post(`${base}/syncs`, sync('app', { sourceRef: { name: 'src' }, interval: '1s' }));
  await until('first revision applied', () => appliedAt(h, 'app', c1));
  const uid = (await h.get(cmPath(ns, 'frozen')))?.metadata.uid;

  const c2 = await repo.commit({ 'a.yaml': immutable('2') });
  await until(
    'the immutable change refused',
    async () =>
      (await syncOf(h, 'app'))?.status?.lastAttemptedRevision === `main@sha1:${c2}` &&
      condition(await syncOf(h, 'app'), 'Ready')?.status === 'False',
  );
  t.match(condition(await syncOf(h, 'app'), 'Ready')?.message, /a\.yaml: ConfigMap\/default\/frozen: .*immutable/);
  t.equal((await h.get(cmPath(ns, 'frozen')))?.data?.['v'], '1', 'the object is untouched');

  await h.patch(syncPath(ns, 'app'), { spec: { force: true } });
  await until('the forced revision applied', () => appliedAt(h, 'app', c2));
  const recreated = await h.get(cmPath(ns, 'frozen'));
  t.equal(recreated?.data?.['v'], '2', 'the new data is there');
  t.not(recreated?.metadata.uid, uid, 'by a new object (deleted and created again)');
});
