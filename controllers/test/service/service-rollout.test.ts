// Rolling updates with real containers: a template change replaces every replica without the Ready count ever
// dropping below replicas - maxUnavailable; a rollout to an image that does not exist or to a crash-looping
// template stalls after maxSurge new replicas, with the old ones still serving, and turns Progressing False with
// ProgressDeadlineExceeded; the rollback annotation restores the previous revision; paused holds a rollout back;
// the API server refuses a selector that does not match the template, negative replicas, a selector change.
import t from 'tap';
import type { Container, Service } from '@berth/api';
import { Watch } from '@kubernetes/client-node';
import { eventually } from '@berth/testkit';
import { revisionAnnotation, templateHashLabel } from '../../src/index.js';
import { httpdService, isReady, setUpServiceCluster, watchServing } from './cluster.js';

const c = await setUpServiceCluster(t);
const cond = (s: Service, type: string) => s.status?.conditions?.find((x) => x.type === type);

async function converged(ns: string, name: string, n: number): Promise<boolean> {
  return eventually(async () => {
    const s = await c.service(ns, name);
    const cs = await c.containers(ns, true);
    return (
      s.status?.observedGeneration === s.metadata.generation &&
      s.status?.updatedReplicas === n &&
      s.status.availableReplicas === n &&
      s.status.replicas === n &&
      cs.length === n &&
      cs.every((x) => isReady(x) && x.metadata.labels?.[templateHashLabel] === s.status?.updateRevision)
    );
  }, 120_000);
}

t.test('a template change rolls every replica over, never below replicas - maxUnavailable Ready', async (t) => {
  await c.namespace('roll');
  t.equal((await c.apply(httpdService(c.image, 'web', 'roll', {}, { V: '1' }))).code, 0);
  t.ok(await converged('roll', 'web', 3), 'revision 1 up');
  const first = await c.service('roll', 'web');
  const watch = await watchServing(c.ts, 'roll');
  t.teardown(watch.stop);
  t.ok(await eventually(() => watch.now() === 3, 10_000));
  watch.reset();
  t.equal((await c.apply(httpdService(c.image, 'web', 'roll', {}, { V: '2' }))).code, 0);
  t.ok(await converged('roll', 'web', 3), 'revision 2 up');
  t.ok(watch.min() >= 3, `never fewer than 3 serving (fewest: ${watch.min()})`);
  const second = await c.service('roll', 'web');
  t.not(second.status?.updateRevision, first.status?.updateRevision, 'a new template hash');
  t.equal(second.metadata.annotations?.[revisionAnnotation], '2');
  t.match(cond(second, 'Progressing'), { status: 'True', reason: 'NewRevisionAvailable' });
  const cms = await c.kubectl(['get', 'configmaps', '-n', 'roll', '-l', 'berth.dev/service=web', '-o', 'name']);
  t.same(
    cms.stdout.trim().split('\n').sort(),
    [`configmap/web-${first.status?.updateRevision}`, `configmap/web-${second.status?.updateRevision}`].sort(),
    'both revisions kept',
  );

  // maxUnavailable 1, maxSurge 0: one replica at a time, never more than 3, never fewer than 2 serving.
  watch.reset();
  t.equal(
    (
      await c.apply(
        httpdService(
          c.image,
          'web',
          'roll',
          { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } } },
          { V: '3' },
        ),
      )
    ).code,
    0,
  );
  t.ok(await converged('roll', 'web', 3), 'revision 3 up');
  t.ok(watch.min() >= 2, `never fewer than 2 serving (fewest: ${watch.min()})`);
});

t.test('a rollout to a missing image stalls with the old replicas serving, then rollback restores', async (t) => {
  await c.namespace('stall');
  const spec = { progressDeadlineSeconds: 6 };
  t.equal((await c.apply(httpdService(c.image, 'web', 'stall', spec))).code, 0);
  t.ok(await converged('stall', 'web', 3), 'revision 1 up');
  const good = await c.service('stall', 'web');
  const oldNames = (await c.containers('stall')).map((x) => x.metadata.name).sort();
  const missing = `${c.registryAddress}/library/does-not-exist:latest`;
  t.equal((await c.apply(httpdService(missing, 'web', 'stall', spec))).code, 0);
  t.ok(
    await eventually(
      async () => cond(await c.service('stall', 'web'), 'Progressing')?.reason === 'ProgressDeadlineExceeded',
      60_000,
    ),
    'Progressing turns False with ProgressDeadlineExceeded',
  );
  const stalled = await c.service('stall', 'web');
  t.match(cond(stalled, 'Progressing'), { status: 'False', reason: 'ProgressDeadlineExceeded', message: /timed out/ });
  t.match(cond(stalled, 'Available'), { status: 'True' });
  t.equal(stalled.status?.availableReplicas, 3);
  t.equal(stalled.status?.updatedReplicas, 1, 'one new replica (maxSurge 1), never Ready');
  const cs = await c.containers('stall');
  t.same(
    cs
      .filter((x) => x.metadata.labels?.[templateHashLabel] === good.status?.updateRevision)
      .map((x) => x.metadata.name)
      .sort(),
    oldNames,
    'the old replicas are all still there',
  );
  t.ok(cs.filter((x) => oldNames.includes(x.metadata.name)).every(isReady), 'and Ready');
  const events = await c.kubectl(['get', 'events', '-n', 'stall', '--field-selector', 'involvedObject.name=web']);
  t.match(events.stdout, /ProgressDeadlineExceeded/);

  // Roll back to the revision before: the broken replica goes, the old ones stay.
  const annotate = await c.kubectl(['annotate', 'services.berth.dev', 'web', '-n', 'stall', 'berth.dev/rollback-to=0']);
  t.equal(annotate.code, 0, annotate.stderr);
  t.ok(await converged('stall', 'web', 3), 'back on the old template');
  const back = await c.service('stall', 'web');
  t.equal(back.status?.updateRevision, good.status?.updateRevision, 'the first template again');
  t.equal(back.spec.template.spec.image, c.image);
  t.equal(back.metadata.annotations?.['berth.dev/rollback-to'], undefined, 'the annotation is consumed');
  t.equal(back.metadata.annotations?.[revisionAnnotation], '3', 'the restored template is the newest revision');
  t.same((await c.containers('stall')).map((x) => x.metadata.name).sort(), oldNames, 'the same replicas never stopped');
  t.match(cond(back, 'Progressing'), { status: 'True', reason: 'NewRevisionAvailable' });
  const after = await c.kubectl(['get', 'events', '-n', 'stall', '--field-selector', 'involvedObject.name=web']);
  t.match(after.stdout, /RolledBack/);

  // A revision that does not exist: a Warning, the annotation consumed, nothing else changed.
  t.equal(
    (await c.kubectl(['annotate', 'services.berth.dev', 'web', '-n', 'stall', 'berth.dev/rollback-to=42'])).code,
    0,
  );
  t.ok(
    await eventually(
      async () => (await c.service('stall', 'web')).metadata.annotations?.['berth.dev/rollback-to'] === undefined,
      30_000,
    ),
  );
  const refused = await c.service('stall', 'web');
  t.match(
    refused.metadata.annotations?.['berth.dev/rollback-refused'],
    /^revision 42 not found/,
    'why, on the Service',
  );
  t.equal(refused.metadata.generation, back.metadata.generation, 'the template is unchanged');
  t.ok(
    await eventually(async () => {
      const warn = await c.kubectl(['get', 'events', '-n', 'stall', '--field-selector', 'reason=RollbackFailed']);
      return /revision 42 not found/.test(warn.stdout);
    }, 30_000),
    'and in a Warning Event',
  );

  // A rollback done (here to the current revision, which changes nothing) takes the refusal away.
  t.equal(
    (await c.kubectl(['annotate', 'services.berth.dev', 'web', '-n', 'stall', 'berth.dev/rollback-to=3'])).code,
    0,
  );
  t.ok(
    await eventually(async () => {
      const a = (await c.service('stall', 'web')).metadata.annotations;
      return a?.['berth.dev/rollback-to'] === undefined && a?.['berth.dev/rollback-refused'] === undefined;
    }, 30_000),
    'both annotations gone',
  );
});

t.test('a crash-looping template stalls too; the old replicas keep serving', async (t) => {
  await c.namespace('crash');
  // Without a readiness probe a crash-looping replica is Ready for a moment at each restart; minReadySeconds is
  // what keeps such a moment from counting as available (as on Kubernetes).
  const spec = { progressDeadlineSeconds: 6, minReadySeconds: 3 };
  t.equal((await c.apply(httpdService(c.image, 'web', 'crash', spec))).code, 0);
  t.ok(await converged('crash', 'web', 3));
  const good = await c.service('crash', 'web');
  const bad = httpdService(c.image, 'web', 'crash', spec) as { spec: { template: { spec: { command: string[] } } } };
  bad.spec.template.spec.command = ['sh', '-c', 'echo dying; exit 1'];
  t.equal((await c.apply(bad)).code, 0);
  t.ok(
    await eventually(
      async () => cond(await c.service('crash', 'web'), 'Progressing')?.reason === 'ProgressDeadlineExceeded',
      60_000,
    ),
  );
  const cs = await c.containers('crash');
  const old = cs.filter((x) => x.metadata.labels?.[templateHashLabel] === good.status?.updateRevision);
  t.equal(old.length, 3, 'three old replicas');
  t.ok(old.every(isReady), 'all Ready');
  t.equal(cs.length, 4, 'and one new one (maxSurge 1)');
});

t.test('paused: a template change waits; resuming rolls it out', async (t) => {
  await c.namespace('pause');
  t.equal((await c.apply(httpdService(c.image, 'web', 'pause', { replicas: 2 }, { V: '1' }))).code, 0);
  t.ok(await converged('pause', 'web', 2));
  const first = await c.service('pause', 'web');
  t.equal((await c.apply(httpdService(c.image, 'web', 'pause', { replicas: 2, paused: true }, { V: '2' }))).code, 0);
  t.ok(
    await eventually(async () => {
      const s = await c.service('pause', 'web');
      return (
        s.status?.observedGeneration === s.metadata.generation && cond(s, 'Progressing')?.reason === 'ServicePaused'
      );
    }, 30_000),
    'Progressing Unknown, ServicePaused',
  );
  const paused = await c.service('pause', 'web');
  t.equal(cond(paused, 'Progressing')?.status, 'Unknown');
  t.equal(paused.status?.updatedReplicas, 0, 'no replica of the new template');
  const names = (await c.containers('pause')).map((x) => x.metadata.name).sort();
  t.ok(
    names.every((n) => n?.startsWith(`web-${first.status?.updateRevision}-`)),
    'only old replicas',
  );
  // Scaling still works while paused, with the template the replicas run.
  t.equal((await c.kubectl(['scale', 'service/web', '-n', 'pause', '--replicas=3'])).code, 0);
  t.ok(
    await eventually(async () => {
      const cs = await c.containers('pause');
      return (
        cs.length === 3 && cs.every((x) => x.metadata.labels?.[templateHashLabel] === first.status?.updateRevision)
      );
    }, 60_000),
    'scaled with the old template',
  );
  t.equal(
    (
      await c.kubectl([
        'patch',
        'services.berth.dev',
        'web',
        '-n',
        'pause',
        '--type=merge',
        '-p',
        '{"spec":{"paused":false}}',
      ])
    ).code,
    0,
  );
  t.ok(await converged('pause', 'web', 3), 'resumed and rolled out');
});

t.test('Recreate: every old replica is gone before the first new one is made', async (t) => {
  await c.namespace('recreate');
  const spec = { replicas: 2, strategy: { type: 'Recreate' } };
  t.equal((await c.apply(httpdService(c.image, 'web', 'recreate', spec, { V: '1' }))).code, 0);
  t.ok(await converged('recreate', 'web', 2));
  const oldHash = (await c.service('recreate', 'web')).status?.updateRevision;
  // Every Container seen, by name: its hash and when it was first seen and last seen existing.
  const kc = c.ts.kubeConfig();
  const seen = new Map<string, { hash: string | undefined; first: number; gone?: number }>();
  const req = await new Watch(kc).watch(
    '/apis/berth.dev/v1alpha1/namespaces/recreate/containers',
    {},
    (type: string, obj: Container) => {
      const name = obj.metadata.name ?? '';
      const e = seen.get(name) ?? { hash: obj.metadata.labels?.[templateHashLabel], first: performance.now() };
      if (type === 'DELETED') e.gone = performance.now();
      seen.set(name, e);
    },
    () => undefined,
  );
  t.teardown(() => req.abort());
  t.ok(await eventually(() => seen.size === 2, 10_000));
  t.equal((await c.apply(httpdService(c.image, 'web', 'recreate', spec, { V: '2' }))).code, 0);
  t.ok(await converged('recreate', 'web', 2), 'the new template up');
  const olds = [...seen.values()].filter((e) => e.hash === oldHash);
  const news = [...seen.values()].filter((e) => e.hash !== oldHash);
  t.equal(olds.length, 2);
  t.equal(news.length, 2);
  const lastOldGone = Math.max(...olds.map((e) => e.gone ?? Number.POSITIVE_INFINITY));
  const firstNew = Math.min(...news.map((e) => e.first));
  t.ok(lastOldGone <= firstNew, 'no new replica before the last old one was gone');
});

t.test('bad input: 422 for a selector not matching the template, negative replicas, a selector change', async (t) => {
  await c.namespace('bad');
  const mismatch = httpdService(c.image, 'web', 'bad') as { spec: { selector: unknown } };
  mismatch.spec.selector = { matchLabels: { app: 'other' } };
  const r1 = await c.apply(mismatch);
  t.not(r1.code, 0);
  t.match(r1.stderr, /spec\.template\.metadata\.labels: Invalid value: .*`selector` does not match template `labels`/);
  const empty = httpdService(c.image, 'web', 'bad') as { spec: { selector: unknown } };
  empty.spec.selector = {};
  t.match((await c.apply(empty)).stderr, /empty selector is invalid for service/);
  const r2 = await c.apply(httpdService(c.image, 'web', 'bad', { replicas: -1 }));
  t.not(r2.code, 0);
  t.match(r2.stderr, /spec\.replicas: Invalid value: -1: spec\.replicas in body should be greater than or equal to 0/);
  const r3 = await c.apply(httpdService(c.image, 'web', 'bad', { strategy: { rollingUpdate: { maxSurge: 'lots' } } }));
  t.match(r3.stderr, /spec\.strategy\.rollingUpdate\.maxSurge/);
  t.equal((await c.apply(httpdService(c.image, 'web', 'bad', { replicas: 0 }))).code, 0);
  const moved = httpdService(c.image, 'web', 'bad', { replicas: 0 }) as {
    spec: { selector: unknown; template: { metadata: { labels: Record<string, string> } } };
  };
  moved.spec.selector = { matchLabels: { app: 'web', tier: 'x' } };
  moved.spec.template.metadata.labels = { app: 'web', tier: 'x' };
  t.match((await c.apply(moved)).stderr, /spec\.selector: Invalid value: .*field is immutable/);
});
