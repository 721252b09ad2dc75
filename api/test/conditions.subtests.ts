// Conditions keep lastTransitionTime across updates that do not change status, as Kubernetes' SetStatusCondition.
import t from 'tap';
import {
  conditionStatus,
  findCondition,
  formatTime,
  isConditionFalse,
  isConditionTrue,
  removeCondition,
  setCondition,
  type Condition,
} from '@berth/api';

const t0 = new Date('2026-11-24T02:05:04.123Z');
const t1 = new Date('2026-11-24T03:00:00Z');

t.test('formatTime emits whole seconds in UTC', async (t) => {
  t.equal(formatTime(t0), '2026-11-24T02:05:04Z');
});

t.test('set, update, transition, remove', async (t) => {
  const first = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Starting' }, t0);
  t.ok(first.changed);
  t.same(first.conditions, [
    { type: 'Ready', status: 'False', reason: 'Starting', lastTransitionTime: '2026-11-24T02:05:04Z' },
  ]);

  const same = setCondition(first.conditions, { type: 'Ready', status: 'False', reason: 'Starting' }, t1);
  t.notOk(same.changed, 'an identical condition is no change');
  t.same(same.conditions, first.conditions);

  const msg = setCondition(
    first.conditions,
    { type: 'Ready', status: 'False', reason: 'Pulling', message: 'pulling busybox' },
    t1,
  );
  t.ok(msg.changed);
  t.equal(msg.conditions[0]!.lastTransitionTime, '2026-11-24T02:05:04Z', 'same status keeps the transition time');
  t.equal(msg.conditions[0]!.reason, 'Pulling');

  const flip = setCondition(msg.conditions, { type: 'Ready', status: 'True', observedGeneration: 2 }, t1);
  t.ok(flip.changed);
  t.same(
    flip.conditions[0],
    { type: 'Ready', status: 'True', observedGeneration: 2, lastTransitionTime: '2026-11-24T03:00:00Z' },
    'old reason/message cleared',
  );
  t.ok(isConditionTrue(flip.conditions, 'Ready'));
  t.notOk(isConditionFalse(flip.conditions, 'Ready'));

  const given = setCondition(
    flip.conditions,
    { type: 'Ready', status: 'False', lastTransitionTime: '2026-01-01T00:00:00Z' },
    t1,
  );
  t.equal(given.conditions[0]!.lastTransitionTime, '2026-01-01T00:00:00Z', 'an explicit transition time wins');

  const two = setCondition(flip.conditions, { type: 'Scheduled', status: 'True' }, t1);
  t.same(
    two.conditions.map((c) => c.type),
    ['Ready', 'Scheduled'],
    'new types append, order kept',
  );
  t.equal(findCondition(two.conditions, 'Scheduled')!.status, 'True');
  t.equal(conditionStatus(two.conditions, 'Pulled'), 'Unknown', 'a missing condition is Unknown');

  const removed = removeCondition(two.conditions, 'Ready');
  t.ok(removed.changed);
  t.same(
    removed.conditions.map((c) => c.type),
    ['Scheduled'],
  );
  t.notOk(removeCondition(removed.conditions, 'Ready').changed);
});

t.test('inputs are never mutated', async (t) => {
  const list: Condition[] = [{ type: 'Ready', status: 'False', lastTransitionTime: '2026-11-24T02:05:04Z' }];
  const frozen = Object.freeze(list.map((c) => Object.freeze({ ...c })));
  const out = setCondition(frozen, { type: 'Ready', status: 'True' }, t1);
  t.equal(frozen[0]!.status, 'False');
  t.equal(out.conditions[0]!.status, 'True');
});

t.test('extra fields of node conditions are kept', async (t) => {
  type NodeCondition = Condition & { lastHeartbeatTime?: string };
  const a = setCondition<NodeCondition>(
    [],
    { type: 'Ready', status: 'True', lastHeartbeatTime: '2026-11-24T02:05:04Z' },
    t0,
  );
  const b = setCondition<NodeCondition>(
    a.conditions,
    { type: 'Ready', status: 'True', lastHeartbeatTime: '2026-11-24T02:05:14Z' },
    t1,
  );
  t.ok(b.changed, 'a heartbeat is a change');
  t.equal(b.conditions[0]!.lastHeartbeatTime, '2026-11-24T02:05:14Z');
  t.equal(b.conditions[0]!.lastTransitionTime, '2026-11-24T02:05:04Z');
});
