// Options that cannot work are refused before the agent touches the host: a NodeAgentOptionError (a BerthError
// with code InvalidOption) naming the option. Needs no root: nothing is started.
import t from 'tap';
import { isBerthError } from '@berth/api';
import { NodeAgentOptionError, startNodeAgent } from '../../src/index.js';

const base = { kubeconfig: '/nonexistent/kubeconfig', root: '/nonexistent/root' };

for (const [option, extra] of [
  ['workers', { workers: 0 }],
  ['pollIntervalMs', { pollIntervalMs: 0 }],
  ['leaseRenewIntervalMs', { leaseRenewIntervalMs: -1 }],
  ['restartBackoff', { restartBackoff: { baseMs: 0, maxMs: 10 } }],
  ['retryBackoff', { retryBackoff: { baseMs: 100, maxMs: 10 } }],
  ['hostPathPrefixes', { hostPathPrefixes: ['relative/dir'] }],
  ['hostPathPrefixes', { hostPathPrefixes: ['/'] }],
] as const) {
  t.test(`${option}: refused at the door`, async (t) => {
    const err = await startNodeAgent({ ...base, ...extra }).catch((e: unknown) => e);
    t.ok(NodeAgentOptionError.isInstance(err), 'a NodeAgentOptionError');
    t.ok(isBerthError(err, 'InvalidOption'), 'a BerthError with code InvalidOption');
    t.equal((err as NodeAgentOptionError).option, option);
  });
}
