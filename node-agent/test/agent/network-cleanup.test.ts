// Container networking leaves nothing behind: 20 (or BERTH_CLEANUP_CYCLES) create/delete cycles of Containers publishing a port end with as
// many veths, IP leases, portmap NAT rules and netns mounts as before; an agent restart keeps running containers'
// networking (the published port answers throughout) and removes the networking of a Container deleted meanwhile.
// Needs root.
import { get as httpGet } from 'node:http';
import path from 'node:path';
import t from 'tap';
import type { Container } from '@berth/api';
import { eventually, freePort } from '@berth/testkit';
import { hostNetworkState } from '../network/host-state.js';
import { setUpCluster } from './harness.js';

const cluster = await setUpCluster(t);
const state = () =>
  hostNetworkState(
    cluster.network.name,
    cluster.network.bridge,
    path.join(cluster.root, 'ipam'),
    path.join(cluster.root, 'netns'),
  );
const isRunning = (c: Container) => c.status?.phase === 'Running';

function get(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    httpGet(url, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    }).on('error', () => resolve(undefined));
  });
}

const httpd = (hostPort: number) => ({
  command: ['sh', '-c', 'mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 80 -h /www'],
  ports: [
    { containerPort: 80, hostPort },
    { containerPort: 53, hostPort, protocol: 'UDP' },
  ],
  terminationGracePeriodSeconds: 0,
});

// 20 in the suite (its time budget); BERTH_CLEANUP_CYCLES=100 runs the 100 by hand.
const cycles = Number(process.env['BERTH_CLEANUP_CYCLES'] ?? 20);

t.test(`${cycles} create/delete cycles leave veths, leases, NAT rules and netns mounts as they were`, async (t) => {
  const agent = await cluster.startAgent();
  const before = await state();
  const parallel = 4;
  let during: Awaited<ReturnType<typeof state>> | undefined;
  for (let round = 0; round < cycles / parallel; round++) {
    await Promise.all(
      Array.from({ length: parallel }, async (_, i) => {
        const name = `cycle-${round}-${i}`;
        await cluster.create(name, httpd(await freePort()));
        // The first round pulls and unpacks the image on this fresh node: slow on a loaded machine.
        const c = await cluster.waitFor(name, isRunning, round === 0 ? 90_000 : 30_000);
        t.ok(c.status?.ips?.[0]?.ip, `${name} had an address`);
        if (round === 0 && i === 0) during = await state();
        await cluster.remove(name);
        t.ok(await cluster.waitGone(name), `${name} deleted`);
      }),
    );
  }
  // The counters do count: with containers up, each was above its starting value.
  t.ok(
    during !== undefined &&
      during.veths > before.veths &&
      during.leases > before.leases &&
      during.natRules > before.natRules &&
      during.netnsMounts > before.netnsMounts,
    `while running: ${JSON.stringify(during)}`,
  );
  t.same(await state(), before, `after ${cycles} cycles: ${JSON.stringify(before)}`);
  await agent.close();
});

t.test('an agent restart keeps running networking and removes what a Container deleted meanwhile left', async (t) => {
  const agent = await cluster.startAgent();
  const before = await state();
  const keptPort = await freePort();
  const gonePort = await freePort();
  await cluster.create('kept', httpd(keptPort));
  await cluster.create('gone', httpd(gonePort));
  const kept = await cluster.waitFor('kept', isRunning);
  await cluster.waitFor('gone', isRunning);
  t.ok(await eventually(async () => (await get(`http://127.0.0.1:${keptPort}/`)) === 200), 'kept answers');
  await agent.close();

  // While no agent runs: the published port still answers, and 'gone' is deleted for good (finalizer dropped).
  t.equal(await get(`http://127.0.0.1:${keptPort}/`), 200, 'networking outlives the agent');
  await cluster.remove('gone');
  await cluster.server.kubectl(['patch', 'ctr', 'gone', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  t.ok(await cluster.waitGone('gone'));
  t.equal((await state()).veths, before.veths + 2, "gone's veth is still there with no agent");

  await cluster.startAgent();
  t.ok(
    await eventually(async () => (await state()).veths === before.veths + 1, 15_000),
    "the new agent removed gone's veth",
  );
  const after = await state();
  t.equal(after.leases, before.leases + 1, 'and its lease');
  t.equal(after.netnsMounts, before.netnsMounts + 1, 'and its netns');
  t.equal(await get(`http://127.0.0.1:${gonePort}/`), undefined, 'its port no longer published');
  t.equal(await get(`http://127.0.0.1:${keptPort}/`), 200, 'kept still answers');
  const again = await cluster.waitFor('kept', isRunning);
  t.same(again.status?.ips, kept.status?.ips, 'kept keeps its address');
  t.equal(again.status?.containerID, kept.status?.containerID, 'and its container (adopted, not restarted)');
  await cluster.remove('kept');
  t.ok(await cluster.waitGone('kept'));
  t.same(await state(), before, 'all gone');
});
