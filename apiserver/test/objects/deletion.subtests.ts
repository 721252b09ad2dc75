// The delete decisions as a table, without a server: which garbage-collector finalizer a delete leaves (an explicit
// option over a finalizer already there over the Background default), the grace period of a graceful kind, and
// when the object goes at once.
import t from 'tap';
import { finalizersForPropagation, planDeletion, type DeletePropagation } from '../../src/objects/deletion.js';
import type { KubeObject } from '../../src/objects/object.js';
import type { Strategy } from '../../src/registry/strategy.js';

t.test('finalizers for each propagation', async (t) => {
  const cases: [string[], DeletePropagation, string[] | undefined][] = [
    [[], {}, undefined],
    [[], { propagationPolicy: 'Background' }, undefined],
    [[], { propagationPolicy: 'Foreground' }, ['foregroundDeletion']],
    [[], { propagationPolicy: 'Orphan' }, ['orphan']],
    [[], { orphanDependents: true }, ['orphan']],
    [['orphan'], { orphanDependents: false }, []],
    [['a/b', 'orphan'], {}, undefined],
    [['a/b', 'orphan'], { propagationPolicy: 'Foreground' }, ['a/b', 'foregroundDeletion']],
    [['foregroundDeletion'], { propagationPolicy: 'Foreground' }, undefined],
    [['foregroundDeletion'], { propagationPolicy: 'Background' }, []],
  ];
  for (const [finalizers, options, expected] of cases)
    t.same(
      finalizersForPropagation(finalizers, options),
      expected,
      `${JSON.stringify(finalizers)} + ${JSON.stringify(options)}`,
    );
});

const obj = (meta: Partial<KubeObject['metadata']> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Thing',
  metadata: { name: 'x', generation: 1, ...meta },
});
const held = (o: KubeObject) => (o.metadata.finalizers ?? []).length > 0;
const graceful: Strategy = { gracePeriodOnDelete: (_o, requested) => requested ?? 30 };
const now = new Date('2026-01-01T00:00:00Z');

t.test('without graceful deletion', async (t) => {
  t.same(planDeletion({}, obj(), {}, held, now), { step: 'delete' }, 'nothing holds it: gone');
  const plan = planDeletion({}, obj({ finalizers: ['a/b'] }), { gracePeriodSeconds: 10 }, held, now);
  t.equal(plan.step, 'mark');
  if (plan.step !== 'mark') return;
  t.equal(plan.object.metadata.deletionTimestamp, '2026-01-01T00:00:00Z');
  t.equal(plan.object.metadata.deletionGracePeriodSeconds, 0, 'a grace period asked for is ignored');
  t.equal(plan.object.metadata.generation, 2, 'the generation goes up once');
  const again = planDeletion({}, plan.object, {}, held, new Date('2026-01-01T00:01:00Z'));
  t.equal(again.step === 'mark' && again.object.metadata.deletionTimestamp, '2026-01-01T00:00:00Z', 'time kept');
  t.equal(again.step === 'mark' && again.object.metadata.generation, 2, 'generation kept');
});

t.test('with graceful deletion', async (t) => {
  const plan = planDeletion(graceful, obj({ finalizers: ['a/b'] }), {}, held, now);
  t.equal(plan.step === 'mark' && plan.object.metadata.deletionTimestamp, '2026-01-01T00:00:30Z', 'now + grace');
  t.equal(plan.step === 'mark' && plan.object.metadata.deletionGracePeriodSeconds, 30);
  if (plan.step !== 'mark') return;
  t.same(
    planDeletion(graceful, structuredClone(plan.object), { propagationPolicy: 'Orphan' }, held, now),
    {
      step: 'pending',
    },
    'a pending graceful deletion is not changed, not even its finalizers',
  );
  const shorter = planDeletion(graceful, structuredClone(plan.object), { gracePeriodSeconds: 5 }, held, now);
  t.equal(shorter.step === 'mark' && shorter.object.metadata.deletionTimestamp, '2026-01-01T00:00:05Z');
  t.same(planDeletion(graceful, obj(), { gracePeriodSeconds: 5 }, held, now), { step: 'delete' }, 'no finalizer: gone');
});
