// A Network's options with real containers: dnsUpstreams (names the network does not know go to the upstream, a
// name server of the test's own on loopback), dns: false (no name server on the gateway, the host's name servers
// in resolv.conf), ipRange (addresses only from it) and internal (no default route, no masquerade rules), passed
// to the CNI plugins. Needs root.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { promisify } from 'node:util';
import dnsPacket from 'dns-packet';
import t from 'tap';
import type { Container } from '@berth/api';
import { eventually } from '@berth/testkit';
import { hostNameservers } from '../../src/network/host-resolvers.js';
import { setUpCluster } from './harness.js';

const run = promisify(execFile);
const cluster = await setUpCluster(t);
const agent = await cluster.startAgent();
const isRunning = (c: Container) => c.status?.phase === 'Running';
const third = randomBytes(1)[0] ?? 0;
/** A /26 of 10.220.<third>.0/24 per test, so tests running beside this one do not share addresses. */
const subnetOf = (i: number) => `10.220.${third}.${i * 64}/26`;
const gatewayOf = (i: number) => `10.220.${third}.${i * 64 + 1}`;

async function createNetwork(name: string, spec: Record<string, unknown>): Promise<void> {
  await cluster.custom.createNamespacedCustomObject({
    group: 'berth.dev',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'networks',
    body: { apiVersion: 'berth.dev/v1alpha1', kind: 'Network', metadata: { name }, spec },
  });
}

async function execOut(c: Container, args: string[]): Promise<string> {
  const s = await agent.runtime.exec(c.metadata.uid ?? '', { args });
  let out = '';
  s.stdout.on('data', (b: Buffer) => (out += b.toString()));
  s.stderr.on('data', (b: Buffer) => (out += b.toString()));
  await s.exitCode;
  await s.close();
  return out;
}

async function runOn(name: string, network: string): Promise<Container> {
  await cluster.create(name, {
    command: ['sleep', '3600'],
    networks: [{ name: network }],
    terminationGracePeriodSeconds: 0,
  });
  return cluster.waitFor(name, isRunning, 60_000);
}

/** A name server on 127.0.0.1 that knows one name and counts the queries it gets. */
async function startUpstream(t: { teardown(fn: () => unknown): void }): Promise<{ port: number; asked: string[] }> {
  const socket: Socket = createSocket('udp4');
  const asked: string[] = [];
  socket.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const name = q.questions?.[0]?.name ?? '';
    asked.push(name);
    const known = name === 'upstream.example.test';
    const reply = dnsPacket.encode({
      type: 'response',
      ...(q.id !== undefined ? { id: q.id } : {}),
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3),
      questions: q.questions ?? [],
      answers: known ? [{ type: 'A', name, ttl: 30, data: '192.0.2.77' }] : [],
    });
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => socket.close(() => r())));
  return { port: socket.address().port, asked };
}

/** Whether something listens on udp `ip`:53 (binding it fails then). */
async function port53Taken(ip: string): Promise<boolean> {
  const s = createSocket('udp4');
  return new Promise((resolve) => {
    s.once('error', () => s.close(() => resolve(true)));
    s.bind({ address: ip, port: 53, exclusive: true }, () => s.close(() => resolve(false)));
  });
}

t.test('dnsUpstreams: names the network does not know go to the upstream', async (t) => {
  const upstream = await startUpstream(t);
  await createNetwork('forwarding', { subnet: subnetOf(0), dnsUpstreams: [`127.0.0.1:${upstream.port}`] });
  const c = await runOn('asker', 'forwarding');
  let out = '';
  const forwarded = await eventually(async () => {
    out = await execOut(c, ['nslookup', 'upstream.example.test', gatewayOf(0)]);
    return out.includes('192.0.2.77');
  }, 30_000);
  t.ok(forwarded, `the upstream's answer comes back: ${out}`);
  t.ok(upstream.asked.includes('upstream.example.test'), 'the upstream was asked');
  const own = await execOut(c, ['nslookup', 'asker', gatewayOf(0)]);
  t.match(own, c.status?.ips?.[0]?.ip ?? '?', 'a member name is still answered by the network');
  t.notOk(upstream.asked.includes('asker'), 'and never forwarded');
  const missing = await execOut(c, ['nslookup', 'nowhere.example.test', gatewayOf(0)]);
  t.match(missing, /NXDOMAIN|can't find|can't resolve/i, `the upstream's NXDOMAIN is relayed: ${missing}`);
  await cluster.remove('asker');
  t.ok(await cluster.waitGone('asker', 30_000));
});

t.test("dns: false: no name server on the gateway, the host's name servers in resolv.conf", async (t) => {
  await createNetwork('nodns', { subnet: subnetOf(1), dns: false });
  const c = await runOn('plain', 'nodns');
  const resolv = await execOut(c, ['cat', '/etc/resolv.conf']);
  const host = await hostNameservers();
  t.same(
    resolv
      .split('\n')
      .filter((l) => l.startsWith('nameserver'))
      .map((l) => l.split(/\s+/)[1]),
    host,
    `the host's non-loopback name servers: ${JSON.stringify(resolv)}`,
  );
  t.notOk(resolv.includes(gatewayOf(1)), 'not the gateway');
  t.notOk(await port53Taken(gatewayOf(1)), 'nothing listens on the gateway');
  await cluster.remove('plain');
  t.ok(await cluster.waitGone('plain', 30_000));
});

t.test('ipRange: addresses come from the range only', async (t) => {
  const base = 2 * 64;
  await createNetwork('ranged', { subnet: subnetOf(2), ipRange: `10.220.${third}.${base + 32}/28` });
  const c = await runOn('ranged-member', 'ranged');
  const last = Number(c.status?.ips?.[0]?.ip?.split('.')[3]);
  t.ok(last >= base + 32 && last <= base + 47, `address .${last} is inside ${`10.220.${third}.${base + 32}/28`}`);
  await cluster.remove('ranged-member');
  t.ok(await cluster.waitGone('ranged-member', 30_000));
});

t.test('internal: no default route and no masquerade; a normal network has both', async (t) => {
  await createNetwork('sealed', { subnet: subnetOf(3), internal: true });
  await createNetwork('open', { subnet: `10.221.${third}.0/26` });
  const sealed = await runOn('sealed-member', 'sealed');
  const open = await runOn('open-member', 'open');
  const sealedRoutes = await execOut(sealed, ['ip', 'route']);
  t.notMatch(sealedRoutes, /default/, `no route out: ${sealedRoutes}`);
  t.match(sealedRoutes, subnetOf(3).replace('/26', ''), 'only its subnet');
  const openRoutes = await execOut(open, ['ip', 'route']);
  t.match(openRoutes, `default via 10.221.${third}.1`, `a route out through the gateway: ${openRoutes}`);
  const nat = (await run('iptables-save', ['-t', 'nat'])).stdout;
  t.match(nat, `-A BERTH-MASQUERADE -s 10.221.${third}.0/26 `, 'one masquerade rule for the normal network');
  t.notMatch(nat, `-A BERTH-MASQUERADE -s ${subnetOf(3)}`, 'none for the internal one');
  // The CNI bridge plugin's ipMasq would have made a chain per container, named in its comment.
  t.notOk(nat.includes(open.metadata.uid ?? '?'), 'no per-container masquerade chain');
  await cluster.remove('sealed-member');
  await cluster.remove('open-member');
  t.ok(await cluster.waitGone('sealed-member', 30_000));
  t.ok(await cluster.waitGone('open-member', 30_000));
});
