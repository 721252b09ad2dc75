// The rollout decision on its own: surge and unavailability fenceposts as Kubernetes resolves them, and step by
// step what a rolling update, a Recreate, a scale during a rollout and a paused Service create and delete.
import t from 'tap';
import type { Container } from '@berth/api';
import { planRollout, resolveFenceposts, type RolloutInput } from '../../src/service/rollout-plan.js';
import { templateHash } from '../../src/service/template-hash.js';

const now = Date.parse('2026-12-01T12:00:00Z');
let n = 0;
function replica(hash: string, ready: boolean | 'just', extra: Partial<Container['status']> = {}): Container {
  n++;
  const since = ready === 'just' ? now - 500 : now - 60_000;
  return {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: {
      name: `r${n}`,
      uid: `u${n}`,
      labels: { 'berth.dev/template-hash': hash },
      creationTimestamp: new Date(now - 100_000 + n * 1000).toISOString(),
    },
    spec: { image: 'x', nodeName: 'n' },
    status: {
      phase: ready === false ? 'Pending' : 'Running',
      conditions:
        ready === false ? [] : [{ type: 'Ready', status: 'True', lastTransitionTime: new Date(since).toISOString() }],
      ...extra,
    },
  };
}
const input = (over: Partial<RolloutInput>): RolloutInput => ({
  desired: 3,
  strategy: 'RollingUpdate',
  maxSurge: 1,
  maxUnavailable: 0,
  paused: false,
  minReadySeconds: 0,
  now,
  current: [],
  old: [],
  oldTerminating: 0,
  ...over,
});

t.test('fenceposts: numbers, percentages rounded as Kubernetes rounds them, never both 0', async (t) => {
  t.same(resolveFenceposts(undefined, undefined, 4), { maxSurge: 1, maxUnavailable: 0 }, 'the CRD defaults');
  t.same(resolveFenceposts('25%', '25%', 10), { maxSurge: 3, maxUnavailable: 2 }, 'surge up, unavailable down');
  t.same(resolveFenceposts(0, '10%', 5), { maxSurge: 0, maxUnavailable: 1 }, '0 and 0.5 → 0 and 1');
  t.same(resolveFenceposts(2, 5, 3), { maxSurge: 2, maxUnavailable: 3 }, 'no more unavailable than replicas');
  t.equal(resolveFenceposts('lots', 0, 3), undefined);
  t.equal(resolveFenceposts(-1, 0, 3), undefined);
});

t.test('scaling without a rollout creates or deletes the difference, least useful first', async (t) => {
  t.match(planRollout(input({ current: [replica('a', true)] })), { create: 2, delete: [] });
  const ready = replica('a', true);
  const pending = replica('a', false);
  const plan = planRollout(input({ desired: 1, current: [ready, pending] }));
  t.same(plan.delete, [pending], 'the pending one goes first');
  t.equal(plan.create, 0);
});

t.test(
  'rolling update, maxSurge 1 maxUnavailable 0: one new at a time, an old one goes once one is available',
  async (t) => {
    const old = [replica('a', true), replica('a', true), replica('a', true)];
    const step1 = planRollout(input({ old }));
    t.match(step1, { create: 1, delete: [] }, 'surge one');
    const fresh = replica('b', false);
    t.match(
      planRollout(input({ old, current: [fresh] })),
      { create: 0, delete: [] },
      'waits while the new one is not Ready',
    );
    const readyNew = replica('b', true);
    const step3 = planRollout(input({ old, current: [readyNew] }));
    t.equal(step3.delete.length, 1, 'one old goes');
    t.equal(step3.create, 0, 'no room yet: the old one still counts');
    t.ok(old.includes(step3.delete[0]!));
    t.match(planRollout(input({ old: old.slice(1), current: [readyNew] })), { create: 1, delete: [] });
  },
);

t.test('minReadySeconds: Ready is not available until it has lasted', async (t) => {
  const old = [replica('a', true), replica('a', true)];
  const just = replica('b', 'just');
  t.match(planRollout(input({ desired: 2, old, current: [just], minReadySeconds: 5 })), { create: 0, delete: [] });
  t.equal(planRollout(input({ desired: 2, old, current: [just], minReadySeconds: 0 })).delete.length, 1);
});

t.test('maxUnavailable 1, maxSurge 0: deletes first, then replaces', async (t) => {
  const old = [replica('a', true), replica('a', true), replica('a', true)];
  const p = planRollout(input({ old, maxSurge: 0, maxUnavailable: 1 }));
  t.equal(p.create, 0);
  t.equal(p.delete.length, 1);
  t.match(planRollout(input({ old: old.slice(1), maxSurge: 0, maxUnavailable: 1 })), { create: 1, delete: [] });
});

t.test('unhealthy old replicas go first and cost no availability', async (t) => {
  const broken = replica('a', false);
  const old = [replica('a', true), replica('a', true), broken];
  // While the new one is not Ready there is no room at all (Kubernetes' maxScaledDown is 0 too).
  t.same(planRollout(input({ old, current: [replica('b', false)] })).delete, []);
  const p = planRollout(input({ old, current: [replica('b', true)] }));
  t.same(p.delete, [broken], 'the broken one, not a healthy one');
});

t.test('a stalled rollout (new never Ready) deletes no old replica', async (t) => {
  const old = [replica('a', true), replica('a', true), replica('a', true)];
  const stuck = replica('b', false, { phase: 'Pulling', reason: 'ImagePullBackOff' });
  for (let i = 0; i < 3; i++) t.match(planRollout(input({ old, current: [stuck] })), { create: 0, delete: [] });
});

t.test('scaled down mid-rollout: old replicas beyond the surge ceiling go, unavailable first', async (t) => {
  const sick = replica('a', false);
  const old = [replica('a', true), replica('a', true), replica('a', true), sick];
  const p = planRollout(input({ desired: 1, old, current: [replica('b', false)] }));
  t.ok(p.delete.includes(sick));
  t.ok(p.delete.length >= 3, 'down to the ceiling (1 + surge 1)');
});

t.test('Recreate: all old go, new ones only once the old are gone', async (t) => {
  const old = [replica('a', true), replica('a', true)];
  t.match(planRollout(input({ strategy: 'Recreate', desired: 2, old })), { create: 0, delete: old });
  t.match(planRollout(input({ strategy: 'Recreate', desired: 2, oldTerminating: 2 })), { create: 0, delete: [] });
  t.match(planRollout(input({ strategy: 'Recreate', desired: 2 })), { create: 2 });
});

t.test('paused: no rollout, but scaling goes on with the running template', async (t) => {
  const old = [replica('a', true)];
  t.match(planRollout(input({ paused: true, desired: 1, old })), { create: 0, delete: [] });
  t.match(planRollout(input({ paused: true, desired: 2, old })), { create: 1, createFromNewestOld: true });
  t.equal(planRollout(input({ paused: true, desired: 0, old })).delete.length, 1);
});

t.test('the template hash is stable over key order and changes with the template', async (t) => {
  const a = templateHash({ metadata: { labels: { app: 'x', tier: 'y' } }, spec: { image: 'i', args: ['1'] } });
  const b = templateHash({ spec: { args: ['1'], image: 'i' }, metadata: { labels: { tier: 'y', app: 'x' } } });
  t.equal(a, b);
  t.not(templateHash({ metadata: { labels: { app: 'x', tier: 'y' } }, spec: { image: 'i', args: ['2'] } }), a);
  t.match(a, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
});
