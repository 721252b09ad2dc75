// CniNetworks on the real CNI plugins: a netns with an address on a bridge, a published port answering on the
// host's loopback, a taken port refused with nothing left behind, detach leaving the host as it was.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { CniNetworks } from '../../src/network/cni-networks.js';
import { NetworkError } from '../../src/network/errors.js';
import { deleteBridge, hostNetworkState, testNetwork } from './host-state.js';

const root = await mkdtemp(path.join(tmpdir(), 'berth-network-test-'));
const net = testNetwork();
const netnsDir = path.join(root, 'netns');
const networks = new CniNetworks({ stateDir: path.join(root, 'state'), netnsDir });
const used = new Set<string>();
t.teardown(async () => {
  for (const id of used) await networks.detach(id).catch(() => undefined);
  await deleteBridge(net.bridge);
  await rm(root, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The error code binding 127.0.0.1:`port` fails with, or undefined when it could be bound. */
function bindError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => s.close(() => resolve(undefined)));
  });
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

/** The NetworkError `p` rejects with (a plain failed assertion when it resolves or throws something else). */
async function networkError(p: Promise<unknown>): Promise<NetworkError | undefined> {
  try {
    await p;
  } catch (err) {
    if (NetworkError.isInstance(err)) return err;
    throw err;
  }
  return undefined;
}

const state = () => hostNetworkState(net.name, net.bridge, networks.ipamDir, netnsDir);

t.test('attach gives an address and a published port that answers on 127.0.0.1; detach undoes it all', async (t) => {
  const before = await state();
  const hostPort = await freePort();
  const id = 'net-a';
  used.add(id);
  const a = await networks.attach(id, {
    networks: [net],
    ports: [{ hostPort, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }],
  });
  t.equal(a.addresses.length, 1);
  t.match(
    a.addresses[0]?.ip,
    new RegExp(`^${net.subnet.split('.').slice(0, 3).join('\\.')}\\.\\d+$`),
    'address from the subnet',
  );
  t.equal(a.addresses[0]?.interface, 'eth0');
  t.same(await networks.attach(id, { networks: [net] }), a, 'attaching again returns the same attachment');

  const www = path.join(root, 'www');
  await mkdir(www, { recursive: true });
  await writeFile(path.join(www, 'index.html'), 'from the netns\n');
  const httpd = spawn('nsenter', [`--net=${a.netns}`, 'busybox', 'httpd', '-f', '-p', '80', '-h', www], {
    stdio: 'ignore',
  });
  t.teardown(() => void httpd.kill());
  // httpd binds asynchronously: retry the GET until it is up (each try is a real connection).
  let res: { status: number; body: string } | undefined;
  for (let i = 0; i < 50 && res === undefined; i++) {
    res = await httpGet(`http://127.0.0.1:${hostPort}/index.html`).catch(async () => {
      await new Promise((r) => setTimeout(r, 20));
      return undefined;
    });
  }
  t.same(res, { status: 200, body: 'from the netns\n' }, 'the published port reaches the container');
  httpd.kill();
  t.equal(await bindError(hostPort), 'EADDRINUSE', 'the agent holds the published port: nothing else can bind it');
  await networks.releasePorts();
  t.equal(await bindError(hostPort), undefined, 'let go with the agent');
  const restarted = new CniNetworks({ stateDir: path.join(root, 'state'), netnsDir });
  t.same(await restarted.holdPublishedPorts(), [], 'the next agent takes hold of it again');
  t.equal(await bindError(hostPort), 'EADDRINUSE');
  await restarted.releasePorts();

  const during = await state();
  t.equal(during.veths, before.veths + 1);
  t.equal(during.leases, before.leases + 1);
  t.ok(during.natRules > before.natRules, 'DNAT rules while attached');
  t.equal(during.netnsMounts, before.netnsMounts + 1);
  await networks.holdPublishedPorts();
  await networks.detach(id);
  t.equal(await bindError(hostPort), undefined, 'free again after detach');
  t.same(await state(), before, 'nothing left after detach');
  t.same(await networks.list(), []);
  await networks.detach(id);
});

t.test('a taken port is PortInUse, and the failed attach leaves nothing behind', async (t) => {
  const before = await state();
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  t.teardown(() => void holder.close());
  const hostPort = (holder.address() as AddressInfo).port;
  used.add('net-b');
  const taken = await networkError(
    networks.attach('net-b', {
      networks: [net],
      ports: [{ hostPort, containerPort: 80, protocol: 'tcp', hostIP: '127.0.0.1' }],
    }),
  );
  t.equal(taken?.code, 'PortInUse');
  t.same(await state(), before);
  t.same(await networks.list(), []);

  // A port another container published is taken too, though no socket holds it.
  const free = await freePort();
  used.add('net-c');
  await networks.attach('net-c', {
    networks: [net],
    ports: [{ hostPort: free, containerPort: 80, protocol: 'udp', hostIP: '0.0.0.0' }],
  });
  const published = await networkError(
    networks.attach('net-b', {
      networks: [net],
      ports: [{ hostPort: free, containerPort: 81, protocol: 'udp', hostIP: '127.0.0.1' }],
    }),
  );
  t.equal(published?.code, 'PortInUse');
  t.match(published?.message, /net-c/);
  await networks.detach('net-c');
  t.same(await state(), before);
});

t.test('a bad subnet is InvalidNetwork before anything is made', async (t) => {
  t.equal(
    (await networkError(networks.attach('net-d', { networks: [{ ...net, subnet: '10.0.0.0/33' }] })))?.code,
    'InvalidNetwork',
  );
  t.same(await networks.list(), []);
});
