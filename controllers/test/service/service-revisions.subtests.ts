// The revision history without running anything (replicas 0): revisionHistoryLimit prunes the oldest templates,
// a rollback to a pruned revision is refused with an Event, and a Service deleted and made again under the same
// name takes over the revision its predecessor left behind.
import t from 'tap';
import type { Service } from '@berth/api';
import { eventually, startTestServer } from '@berth/testkit';
import { startControllers } from '../../src/index.js';

const ts = await startTestServer({ controllers: false });
t.teardown(() => ts.close());
const ctl = await startControllers({ kubeconfig: ts.kubeconfig, leaderElection: false, controllers: ['service'] });
t.teardown(() => ctl.close());

const svc = (v: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { image: 'busybox', args: [v] } },
    ...extra,
  },
});
const apply = async (o: object) => {
  const r = await ts.kubectl(['apply', '-f', '-'], { input: JSON.stringify(o) });
  if (r.code !== 0) throw new Error(r.stderr);
};
const get = async () => JSON.parse((await ts.kubectl(['get', 'svc', 'web', '-o', 'json'])).stdout) as Service;
interface Cm {
  metadata: { name: string; annotations: Record<string, string>; ownerReferences?: { uid: string }[] };
}
const revisions = async () =>
  (
    JSON.parse((await ts.kubectl(['get', 'cm', '-l', 'berth.dev/service=web', '-o', 'json'])).stdout) as {
      items: Cm[];
    }
  ).items;
const settled = (rev: string) =>
  eventually(async () => {
    const s = await get();
    return (
      s.metadata.annotations?.['berth.dev/revision'] === rev && s.status?.observedGeneration === s.metadata.generation
    );
  }, 30_000);

t.test('revisionHistoryLimit keeps that many old revisions; a rollback to a pruned one is refused', async (t) => {
  for (const [i, v] of ['a', 'b', 'c', 'd'].entries()) {
    await apply(svc(v, { revisionHistoryLimit: 1 }));
    t.ok(await settled(String(i + 1)), `revision ${i + 1}`);
  }
  t.ok(await eventually(async () => (await revisions()).length === 2, 30_000), 'the current revision and one old one');
  t.same((await revisions()).map((r) => r.metadata.annotations['berth.dev/revision']).sort(), ['3', '4']);
  t.equal((await ts.kubectl(['annotate', 'svc', 'web', 'berth.dev/rollback-to=1'])).code, 0);
  t.ok(
    await eventually(async () => (await get()).metadata.annotations?.['berth.dev/rollback-to'] === undefined, 30_000),
  );
  const refused = await get();
  t.same(refused.spec.template.spec.args, ['d'], 'the template is unchanged');
  t.equal(refused.metadata.annotations?.['berth.dev/rollback-refused'], 'revision 1 not found (kept: 3, 4)');
  t.ok(
    await eventually(async () => {
      const events = await ts.kubectl(['get', 'events', '--field-selector', 'reason=RollbackFailed']);
      return /revision 1 not found \(kept: 3, 4\)/.test(events.stdout);
    }, 30_000),
  );
});

t.test('a Service made again under the same name takes over the revision left behind', async (t) => {
  const first = await get();
  t.equal((await ts.kubectl(['delete', 'svc', 'web'])).code, 0);
  await apply(svc('d'));
  t.ok(await settled('1'), 'numbered from 1 again');
  const second = await get();
  t.not(second.metadata.uid, first.metadata.uid);
  const cm = (await revisions()).find((r) => r.metadata.name === `web-${second.status?.updateRevision}`);
  t.ok(cm, 'the revision of the same template');
  t.same(
    cm?.metadata.ownerReferences?.map((r) => r.uid),
    [second.metadata.uid],
    'now owned by the new Service',
  );
  t.equal(cm?.metadata.annotations['berth.dev/revision'], '1');
});
