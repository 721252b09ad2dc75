// Without adoptUnbound (a multi-node cluster with a scheduler), the agent watches only Containers bound to its
// node: it runs those, leaves unbound ones and other nodes' ones alone. Needs root.
import t from 'tap';
import { setUpCluster } from './harness.js';

const cluster = await setUpCluster(t);
const agent = await cluster.startAgent({ adoptUnbound: false });

t.test('only Containers whose spec.nodeName is this node run here', async (t) => {
  await cluster.create('mine', {
    command: ['sleep', '3600'],
    nodeName: cluster.nodeName,
    terminationGracePeriodSeconds: 0,
  });
  await cluster.create('unbound', { command: ['sleep', '3600'] });
  await cluster.create('elsewhere', { command: ['sleep', '3600'], nodeName: 'some-other-node' });
  const mine = await cluster.waitFor('mine', (c) => c.status?.phase === 'Running');
  t.equal(mine.status?.phase, 'Running');
  await new Promise((r) => setTimeout(r, 500));
  const unbound = await cluster.get('unbound');
  t.equal(unbound?.spec.nodeName, undefined, 'an unbound Container is not taken');
  t.equal(unbound?.status, undefined, 'nor touched');
  t.equal((await cluster.get('elsewhere'))?.status, undefined, "another node's Container is not touched");
  t.equal(agent.lookup('default', 'elsewhere'), undefined);
  // Nobody runs these two, so nothing would remove a finalizer: there is none.
  await cluster.remove('unbound');
  await cluster.remove('elsewhere');
  t.ok(await cluster.waitGone('unbound', 5_000));
  t.ok(await cluster.waitGone('elsewhere', 5_000));
});
