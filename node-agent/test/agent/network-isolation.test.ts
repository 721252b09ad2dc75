// Isolation between networks as Docker makes it, with real containers: members of one Network reach each other
// but not members of another Network, nor of the default network; an internal Network's members reach only each
// other; the rules go with their Network. Needs root.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { Container, Network } from '@berth/api';
import { eventually } from '@berth/testkit';
import { isolationRules, masqueradeRules } from '../network/host-state.js';
import { setUpCluster } from './harness.js';

const cluster = await setUpCluster(t);
const agent = await cluster.startAgent();
const isRunning = (c: Container) => c.status?.phase === 'Running';
const third = randomBytes(1)[0] ?? 0;
const group = 'berth.dev';
const version = 'v1alpha1';

async function createNetwork(name: string, spec: Record<string, unknown>): Promise<void> {
  await cluster.custom.createNamespacedCustomObject({
    group,
    version,
    namespace: 'default',
    plural: 'networks',
    body: { apiVersion: `${group}/${version}`, kind: 'Network', metadata: { name }, spec },
  });
}

const web = (name: string, networks?: string[]) =>
  cluster.create(name, {
    command: ['sh', '-c', `mkdir -p /www && echo pong-${name} > /www/index.html && exec httpd -f -p 80 -h /www`],
    ...(networks !== undefined ? { networks: networks.map((n) => ({ name: n })) } : {}),
    terminationGracePeriodSeconds: 0,
  });

/** What `from` gets asking `ip`:80 for its page, within 3 s. */
async function fetchFrom(from: Container, ip: string): Promise<string> {
  const s = await agent.runtime.exec(from.metadata.uid ?? '', {
    args: ['sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} 80`],
  });
  let out = '';
  s.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await s.exitCode;
  await s.close();
  return out;
}
const ipOf = (c: Container) => c.status?.ips?.[0]?.ip ?? '?';

t.test('members of one network reach each other and nobody else', async (t) => {
  await createNetwork('red', { subnet: `10.222.${third}.0/26` });
  await createNetwork('blue', { subnet: `10.222.${third}.64/26` });
  await createNetwork('sealed', { subnet: `10.222.${third}.128/26`, internal: true });
  await web('red-web', ['red']);
  await web('red-peer', ['red']);
  await web('blue-web', ['blue']);
  await web('sealed-web', ['sealed']);
  await web('sealed-peer', ['sealed']);
  await web('plain-web');
  const [redWeb, redPeer, blueWeb, sealedWeb, sealedPeer, plainWeb] = await Promise.all(
    ['red-web', 'red-peer', 'blue-web', 'sealed-web', 'sealed-peer', 'plain-web'].map((n) =>
      cluster.waitFor(n, isRunning, 60_000),
    ),
  );
  if (!redWeb || !redPeer || !blueWeb || !sealedWeb || !sealedPeer || !plainWeb) throw new Error('not running');

  // Within a network: reached (once httpd listens).
  t.ok(
    await eventually(async () => (await fetchFrom(redPeer, ipOf(redWeb))).includes('pong-red-web'), 30_000),
    'red reaches red',
  );
  t.ok(
    await eventually(async () => (await fetchFrom(sealedPeer, ipOf(sealedWeb))).includes('pong-sealed-web'), 30_000),
    'an internal network reaches itself',
  );
  t.ok(
    await eventually(async () => (await fetchFrom(redWeb, ipOf(redPeer))).includes('pong-red-peer'), 30_000),
    'and back',
  );
  // Across networks: every route exists (each bridge is the host's, forwarding is on), the rules drop it.
  t.notMatch(await fetchFrom(blueWeb, ipOf(redWeb)), /pong/, 'blue cannot reach red');
  t.notMatch(await fetchFrom(redPeer, ipOf(blueWeb)), /pong/, 'red cannot reach blue');
  t.notMatch(await fetchFrom(plainWeb, ipOf(redWeb)), /pong/, 'the default network cannot reach red');
  t.notMatch(await fetchFrom(redPeer, ipOf(plainWeb)), /pong/, 'red cannot reach the default network');
  t.notMatch(await fetchFrom(redPeer, ipOf(sealedWeb)), /pong/, 'red cannot reach the internal network');
  t.notMatch(await fetchFrom(sealedPeer, ipOf(redWeb)), /pong/, 'the internal network cannot reach red');

  const red = (await cluster.custom.getNamespacedCustomObject({
    group,
    version,
    namespace: 'default',
    plural: 'networks',
    name: 'red',
  })) as Network;
  const bridge = red.status?.bridgeName ?? '?';
  t.equal((await isolationRules(bridge)).length, 2, `red's bridge ${bridge} has its two isolation rules`);
  t.equal((await masqueradeRules(bridge)).length, 1, 'and its one masquerade rule');
  await cluster.remove('red-web');
  await cluster.remove('red-peer');
  await cluster.custom.deleteNamespacedCustomObject({
    group,
    version,
    namespace: 'default',
    plural: 'networks',
    name: 'red',
  });
  t.ok(
    await eventually(
      async () => (await isolationRules(bridge)).length === 0 && (await masqueradeRules(bridge)).length === 0,
      30_000,
    ),
    'the rules go with the Network',
  );
});
