// The agent's User-Agent names it as kubectl's names kubectl (that every write carries fieldManager=berth-node-agent
// is test/agent/field-manager.test.ts's).
import t from 'tap';
import { userAgent } from '../../src/cluster/writer-identity.js';

t.test('the user agent says berth-node-agent, its version without a v, and os/arch as kubectl does', async (t) => {
  t.equal(userAgent('v0.1.0', 'linux', 'amd64'), 'berth-node-agent/0.1.0 (linux/amd64)');
});
