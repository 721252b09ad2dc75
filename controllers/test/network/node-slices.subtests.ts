// Each node's slice of a Network's subnet (status.nodes): the lowest free slice to a node running a member, kept
// while its Node stands, none when the subnet is used up; and a VXLAN id no other Network holds.
import t from 'tap';
import type { Network } from '@berth/api';
import { nodeSlices, pickVni, slicePrefix } from '../../src/network/node-slices.js';

const none = () => undefined;

t.test(
  'slice lengths: a /24 per node from a /22 or larger, else a quarter; a /27 or smaller is one slice',
  async (t) => {
    t.same([16, 22, 23, 24, 26, 27, 30].map(slicePrefix), [24, 24, 25, 26, 28, 27, 30]);
  },
);

t.test('nodes get the lowest free slice, keep it, and lose it only when their Node is gone', async (t) => {
  const first = nodeSlices('10.9.0.0/24', [], ['b', 'a'], new Set(['a', 'b']), (n) =>
    n === 'a' ? '192.0.2.1' : undefined,
  );
  t.same(first, [
    { name: 'a', subnet: '10.9.0.0/26', tunnelAddress: '192.0.2.1' },
    { name: 'b', subnet: '10.9.0.64/26' },
  ]);
  // a has no member any more but its Node stands: it keeps its slice; b's Node is gone: its slice is free for c.
  const next = nodeSlices('10.9.0.0/24', first, ['c'], new Set(['a', 'c']), none);
  t.same(next, [
    { name: 'a', subnet: '10.9.0.0/26' },
    { name: 'c', subnet: '10.9.0.64/26' },
  ]);
  const full = nodeSlices('10.9.0.0/24', [], ['a', 'b', 'c', 'd', 'e'], new Set(), none);
  t.same(
    full.map((s) => s.name),
    ['a', 'b', 'c', 'd'],
    'a fifth node gets no slice of a /24: its members wait',
  );
  t.same(nodeSlices('10.9.0.0/27', [], ['a', 'b'], new Set(), none), [{ name: 'a', subnet: '10.9.0.0/27' }]);
  t.same(nodeSlices('10.8.0.0/16', [], ['x'], new Set(), none), [{ name: 'x', subnet: '10.8.0.0/24' }]);
});

t.test('a VXLAN id is kept, and a new one avoids every other Network', async (t) => {
  const net = (uid: string, vni?: number): Network =>
    ({ metadata: { uid, name: uid }, ...(vni !== undefined ? { status: { vni } } : {}) }) as Network;
  t.equal(pickVni(net('a', 7), [net('b', 7)]), 7, 'its own stays');
  const others = [net('b', pickVni(net('c'), []))];
  t.not(pickVni(net('c'), others), others[0]?.status?.vni, 'a clash moves on');
  t.ok(pickVni(net('c'), []) >= 1 && pickVni(net('c'), []) <= 0xffffff);
});
