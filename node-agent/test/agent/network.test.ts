// Container networking through the agent, as a user sees it: a Container that names no network gets an address
// on the default bridge (status.ips, kubectl's IP column), a busybox httpd with a hostPort answers a GET on the
// host's 127.0.0.1, networkMode none and host do what Docker's do, and a taken host port is a status reason and a
// Warning Event until it is free. Needs root.
import { get as httpGet } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import t from 'tap';
import type { Container } from '@berth/api';
import { eventually, freePort } from '@berth/testkit';
import type { NodeAgent } from '../../src/index.js';
import { setUpCluster } from './harness.js';

const cluster = await setUpCluster(t);
const agent = await cluster.startAgent();
const core = cluster.kc.makeApiClient(CoreV1Api);
const prefix = cluster.network.subnet.split('.').slice(0, 3).join('.');
const isRunning = (c: Container) => c.status?.phase === 'Running';

/** stdout of a command run in the container. */
async function execOut(a: NodeAgent, id: string, args: string[]): Promise<string> {
  const s = await a.runtime.exec(id, { args });
  let out = '';
  s.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await s.exitCode;
  await s.close();
  return out;
}

function get(url: string): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    httpGet(url, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', () => resolve(undefined));
  });
}

/** The first GET that gets an answer (httpd binds a moment after the container starts). */
async function getEventually(url: string): Promise<{ status: number; body: string } | undefined> {
  let res: { status: number; body: string } | undefined;
  await eventually(async () => (res = await get(url)) !== undefined, 10_000);
  return res;
}

const httpd = (hostPort: number, extra: Record<string, unknown> = {}) => ({
  command: [
    'sh',
    '-c',
    'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www',
  ],
  ports: [{ containerPort: 80, hostPort }],
  terminationGracePeriodSeconds: 1,
  ...extra,
});

t.test('a Container with no network section gets an IP on the default bridge, shown by kubectl -o wide', async (t) => {
  await cluster.create('plain', { command: ['sleep', '3600'], terminationGracePeriodSeconds: 0 });
  const c = await cluster.waitFor('plain', isRunning);
  const ip = c.status?.ips?.[0];
  t.match(ip?.ip, new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.\\d+$`), `an address from ${cluster.network.subnet}`);
  t.equal(ip?.network, cluster.network.name);
  const inside = await execOut(agent, c.metadata.uid ?? '', ['ip', '-o', '-4', 'addr', 'show', 'eth0']);
  t.match(inside, `inet ${ip?.ip ?? '?'}/24`, 'eth0 inside carries it');
  const resolv = await execOut(agent, c.metadata.uid ?? '', ['cat', '/etc/resolv.conf']);
  t.same(
    resolv.split('\n').filter((l) => l.startsWith('nameserver')),
    [`nameserver ${prefix}.1`],
    "only the network's name server, never the host's",
  );
  const wide = await cluster.server.kubectl(['get', 'ctr', 'plain', '-o', 'wide']);
  t.match(
    wide.stdout,
    new RegExp(`plain\\s+\\S+\\s+Running\\s+${cluster.nodeName}\\s+${(ip?.ip ?? '?').replace(/\./g, '\\.')}\\s`),
    'IP column',
  );
  await cluster.remove('plain');
  t.ok(await cluster.waitGone('plain'));
});

t.test(
  'busybox httpd with a hostPort answers a GET on the host 127.0.0.1:PORT; deleting it frees the port',
  async (t) => {
    const port = await freePort();
    await cluster.create('web', httpd(port));
    await cluster.waitFor('web', isRunning);
    t.same(await getEventually(`http://127.0.0.1:${port}/index.html`), { status: 200, body: 'hello from web\n' });
    await cluster.remove('web');
    t.ok(await cluster.waitGone('web'));
    t.equal(await get(`http://127.0.0.1:${port}/index.html`), undefined, 'nothing answers once it is gone');
  },
);

t.test('networkMode none keeps only lo; host shares the node namespace', async (t) => {
  await cluster.create('alone', { command: ['sleep', '3600'], networkMode: 'none', terminationGracePeriodSeconds: 0 });
  await cluster.create('hosted', { command: ['sleep', '3600'], networkMode: 'host', terminationGracePeriodSeconds: 0 });
  const alone = await cluster.waitFor('alone', isRunning);
  const hosted = await cluster.waitFor('hosted', isRunning);
  t.equal(alone.status?.ips, undefined);
  t.equal(hosted.status?.ips, undefined);
  const links = await execOut(agent, alone.metadata.uid ?? '', ['ip', '-o', 'link']);
  t.same(
    links
      .trim()
      .split('\n')
      .map((l) => l.split(':')[1]?.trim()),
    ['lo'],
    'only lo',
  );
  const hostLinks = await execOut(agent, hosted.metadata.uid ?? '', ['ip', '-o', 'link']);
  t.match(hostLinks, cluster.network.bridge, "the node's links, our bridge among them");
  await cluster.remove('alone');
  await cluster.remove('hosted');
  t.ok(await cluster.waitGone('alone'));
  t.ok(await cluster.waitGone('hosted'));
});

t.test(
  'a host port already in use is reason PortInUse and a Warning Event, then the container starts once it is free',
  async (t) => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as AddressInfo).port;
    await cluster.create('clash', httpd(port));
    const c = await cluster.waitFor('clash', (x) => x.status?.reason === 'PortInUse');
    t.equal(c.status?.reason, 'PortInUse');
    t.match(c.status?.message, `127.0.0.1:${port}/tcp is already in use`);
    t.equal(c.status?.ips, undefined, 'no address while it cannot start');
    const warned = await eventually(async () => {
      const events = await core.listNamespacedEvent({
        namespace: 'default',
        fieldSelector: 'involvedObject.name=clash',
      });
      return events.items.some((e) => e.type === 'Warning' && e.reason === 'PortInUse');
    });
    t.ok(warned, 'a Warning Event PortInUse');
    await new Promise((r) => holder.close(r));
    await cluster.waitFor('clash', isRunning);
    t.same(await getEventually(`http://127.0.0.1:${port}/index.html`), { status: 200, body: 'hello from clash\n' });

    // A second Container asking for the same port is refused while the first holds it.
    await cluster.create('clash2', httpd(port));
    const second = await cluster.waitFor('clash2', (x) => x.status?.reason === 'PortInUse');
    t.match(second.status?.message, 'already published by container');
    await cluster.remove('clash2');
    await cluster.remove('clash');
    t.ok(await cluster.waitGone('clash'));
    t.ok(await cluster.waitGone('clash2'));
  },
);
