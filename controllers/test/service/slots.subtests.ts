// Swarm's task slots on their own: a replacement takes the slot of the replica it replaces (an older template's, a
// finished or a terminating one), a scale-up the lowest free slots, and no two live replicas of a template share one.
import t from 'tap';
import type { Container } from '@berth/api';
import { slotsForNew } from '../../src/service/slots.js';

function replica(hash: string, slot: number | undefined, state: 'live' | 'failed' | 'terminating' = 'live'): Container {
  return {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: {
      name: `r-${hash}-${slot}`,
      labels: { 'berth.dev/template-hash': hash, ...(slot === undefined ? {} : { 'berth.dev/slot': String(slot) }) },
      ...(state === 'terminating' ? { deletionTimestamp: '2026-12-01T12:00:00Z' } : {}),
    },
    spec: { image: 'x' },
    status: { phase: state === 'failed' ? 'Failed' : 'Running' },
  };
}

t.test('scale-up fills the lowest free slots', async (t) => {
  t.same(slotsForNew([], 'a', 3), [1, 2, 3]);
  t.same(slotsForNew([replica('a', 2)], 'a', 2), [1, 3], 'around the one that is there');
  t.same(slotsForNew([replica('a', 1), replica('a', undefined)], 'a', 1), [2], 'a replica without a slot holds none');
});

t.test('a replacement keeps the slot of what it replaces', async (t) => {
  t.same(slotsForNew([replica('a', 1), replica('a', 2, 'failed'), replica('a', 3)], 'a', 1), [2], 'a failed one');
  t.same(slotsForNew([replica('a', 1), replica('a', 3)], 'a', 1), [2], 'a deleted one (its gap)');
  const rolling = [replica('old', 1), replica('old', 2), replica('old', 3)];
  t.same(slotsForNew(rolling, 'new', 1), [1], 'a rolling update: the first old slot');
  t.same(slotsForNew([replica('new', 1), ...rolling], 'new', 2), [2, 3], 'then the ones no new replica holds');
  t.same(
    slotsForNew([replica('new', 1), replica('old', 1, 'terminating'), replica('old', 3)], 'new', 2),
    [3, 2],
    'an old slot first, then a free one',
  );
  t.same(
    slotsForNew([replica('old', 1, 'terminating'), replica('old', 2, 'terminating')], 'new', 2),
    [1, 2],
    'Recreate',
  );
});
