// The namespace deletion conditions, without a server: Kubernetes' wording for each outcome, counts sorted by
// name, and transition times that move only when a condition's status changes.
import t from 'tap';
import { deletionConditions, discoveryCondition, withConditions } from '../../src/namespace/deletion-conditions.js';

const none = new Map<string, never>();

t.test('all clear: every condition False with its reason', async (t) => {
  const conditions = deletionConditions(none, { remaining: new Map(), finalizers: new Map(), failures: new Map() });
  t.same(
    conditions.map((c) => [c.type, c.status, c.reason]),
    [
      ['NamespaceDeletionDiscoveryFailure', 'False', 'ResourcesDiscovered'],
      ['NamespaceDeletionContentFailure', 'False', 'ContentDeleted'],
      ['NamespaceContentRemaining', 'False', 'ContentRemoved'],
      ['NamespaceFinalizersRemaining', 'False', 'ContentHasNoFinalizers'],
    ],
  );
});

t.test('problems: True, with counts and causes named in sorted order', async (t) => {
  const conditions = new Map(
    deletionConditions(new Map([['metrics.example.com/v1', 'the server is currently unable to handle the request']]), {
      remaining: new Map([
        ['widgets.example.com', 2],
        ['configmaps', 1],
      ]),
      finalizers: new Map([['example.com/hold', 3]]),
      failures: new Map([['secrets', 'forbidden']]),
    }).map((c) => [c.type, c]),
  );
  t.match(conditions.get('NamespaceDeletionDiscoveryFailure'), {
    status: 'True',
    reason: 'DiscoveryFailed',
    message:
      'Discovery failed for some groups, 1 failing: metrics.example.com/v1: the server is currently unable to handle the request',
  });
  t.match(conditions.get('NamespaceDeletionContentFailure'), {
    status: 'True',
    reason: 'ContentDeletionFailed',
    message: 'Failed to delete all resource types, 1 remaining: secrets: forbidden',
  });
  t.match(conditions.get('NamespaceContentRemaining'), {
    status: 'True',
    reason: 'SomeResourcesRemain',
    message:
      'Some resources are remaining: configmaps has 1 resource instances, widgets.example.com has 2 resource instances',
  });
  t.match(conditions.get('NamespaceFinalizersRemaining'), {
    status: 'True',
    reason: 'SomeFinalizersRemain',
    message: 'Some content in the namespace has finalizers remaining: example.com/hold in 3 resource instances',
  });
});

t.test('withConditions: no change is no write; a status flip moves only its own transition time', async (t) => {
  const first = new Date('2026-12-01T10:00:00Z');
  const later = new Date('2026-12-01T10:05:00Z');
  const blocked = deletionConditions(none, {
    remaining: new Map([['configmaps', 1]]),
    finalizers: new Map([['example.com/hold', 1]]),
    failures: new Map(),
  });
  const set = withConditions(undefined, blocked, first);
  t.equal(set.changed, true);
  t.ok(set.conditions.every((c) => c.lastTransitionTime === '2026-12-01T10:00:00Z'));
  const again = withConditions(set.conditions, blocked, later);
  t.equal(again.changed, false, 'the same outcome writes nothing');
  const cleared = withConditions(
    set.conditions,
    deletionConditions(none, { remaining: new Map(), finalizers: new Map(), failures: new Map() }),
    later,
  );
  t.equal(cleared.changed, true);
  const at = new Map(cleared.conditions.map((c) => [c.type, c.lastTransitionTime]));
  t.equal(at.get('NamespaceContentRemaining'), '2026-12-01T10:05:00Z', 'flipped to False: new time');
  t.equal(at.get('NamespaceDeletionDiscoveryFailure'), '2026-12-01T10:00:00Z', 'stayed False: old time');
  t.same(discoveryCondition(none).status, 'False');
});
