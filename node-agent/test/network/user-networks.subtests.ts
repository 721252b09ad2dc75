// How a node reads a Network: only once the network controller says Ready, with the subnet from status (a pool's
// block), the bridge name the controller reports, and the options the plugins get; not ready yet, not ready for a
// reason, or being deleted are errors that say which.
import t from 'tap';
import { networkBridgeName, type Network } from '@berth/api';
import { NetworkError } from '../../src/network/errors.js';
import { definitionOf } from '../../src/network/user-networks.js';

const network = (spec: Network['spec'], status?: Network['status'], deleting = false): Network => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Network',
  metadata: {
    name: 'web',
    namespace: 'shop',
    generation: 1,
    ...(deleting ? { deletionTimestamp: '2026-12-01T00:00:00Z' } : {}),
  },
  ...(spec !== undefined ? { spec } : {}),
  ...(status !== undefined ? { status } : {}),
});
const ready = { type: 'Ready', status: 'True' as const, reason: 'SubnetAllocated', observedGeneration: 1 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (NetworkError.isInstance(err)) return `${err.code}: ${err.message}`;
    throw err;
  }
  return undefined;
}

t.test('a Ready pool Network: subnet from status, options for the plugins', async (t) => {
  const def = definitionOf(
    network({ internal: true, dnsUpstreams: ['127.0.0.1:53'] }, { subnet: '10.214.3.0/24', conditions: [ready] }),
  );
  t.same(def, {
    name: 'web',
    id: 'shop_web',
    bridge: networkBridgeName('shop', 'web'),
    subnet: '10.214.3.0/24',
    internal: true,
    masquerade: false,
    dns: true,
    dnsUpstreams: ['127.0.0.1:53'],
  });
  t.match(def.bridge, /^bn[0-9a-f]{10}$/);
  t.equal(definitionOf(network({ dns: false }, { subnet: '10.214.4.0/24', conditions: [ready] })).masquerade, true);
});

t.test('not ready yet, not ready for a reason, being deleted', async (t) => {
  t.match(
    codeOf(() => definitionOf(network({ subnet: '10.9.0.0/24' }))),
    /^NetworkNotReady: .*has not reported/,
  );
  const overlap = { type: 'Ready', status: 'False' as const, reason: 'SubnetOverlap', message: 'Pool overlaps …' };
  t.match(
    codeOf(() => definitionOf(network({ subnet: '10.9.0.0/24' }, { conditions: [overlap] }))),
    /^InvalidNetwork: Network shop\/web is not ready: SubnetOverlap: Pool overlaps/,
  );
  t.match(
    codeOf(() => definitionOf(network({}, { subnet: '10.214.3.0/24', conditions: [ready] }, true))),
    /^NetworkNotReady: .*being deleted/,
  );
});
