// hack/hosts.sh as a test: two "hosts" (network namespaces, each with its own `berth agent` joined by a bootstrap
// token) on the test's API server. A 2-replica Service pinned to them puts one replica on each; a replica reaches the
// other host's replica at its container address (the hosts' routes between their subnets), and each host's
// published port reaches the replica on the other host (the routing mesh DNATs to every Ready replica, and the
// hosts' routes carry it there). A user Network spans the hosts: a member on each host, each with an address from its
// own host's slice of the subnet, and host 1's member reaches host 2's by address and by name over the Network's
// VXLAN. Registered by two-nodes.test.ts, whose server and registry it shares.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseIpv4, parseIpv4Cidr } from '@berth/api';
import { eventually, freePort, request, type TestServer } from '@berth/testkit';
import type { Test } from 'tap';
import { parse } from 'yaml';
import { clusterServers } from '../src/failover/server-list.js';
import { berth, repo } from './berth-process.js';

const exec = promisify(execFile);

/** hack/hosts.sh ARGS; its stdout (a non-zero exit rejects, with its stderr). */
async function hosts(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  return (await exec(join(repo, 'hack', 'hosts.sh'), [...args], { env: { ...process.env, ...env } })).stdout;
}

/** An id for hosts.sh whose subnets (10.251.R.0/24, R from the id) no other set of hosts on this machine uses. */
async function freeHostsId(): Promise<string> {
  const { stdout } = await exec('ip', ['-o', 'route']);
  for (;;) {
    const id = randomBytes(2).toString('hex');
    const r = Number.parseInt(id.slice(0, 2), 16) ^ Number.parseInt(id.slice(2), 16);
    if (!stdout.includes(`10.251.${r}.`) && !stdout.includes(`10.252.${r}.`)) return id;
  }
}

/** One GET; the body, or undefined when it failed. */
function get(host: string, port: number, path: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 ? body.trim() : undefined));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

/** Whether dotted-quad `ip` is inside `cidr`. */
function inCidr(ip: string, cidr: string): boolean {
  const c = parseIpv4Cidr(cidr);
  const n = parseIpv4(ip);
  return c !== undefined && n !== undefined && n >= c.first && n <= c.last;
}

interface Replica {
  metadata: { name: string };
  spec: { nodeName?: string };
  status?: { ips?: { ip: string }[]; conditions?: { type: string; status: string }[] };
}

export async function hostsNetnsTest(t: Test, ts: TestServer, registryAddress: string): Promise<void> {
  const id = await freeHostsId();
  const dir = await mkdtemp(join(tmpdir(), 'berth-hosts-test-'));
  const apiPort = new URL(ts.url).port;
  const registryPort = registryAddress.split(':')[1] ?? '';
  const service = `mesh-${id}`;
  const port = await freePort();
  const hostsArgs = ['--id', id, '--dir', dir];
  const nodes = [`host1-${id}`, `host2-${id}`];
  const services = '/apis/berth.dev/v1alpha1/namespaces/default/services';
  const replicas = async (): Promise<Replica[]> => {
    const res = await request(
      ts,
      'GET',
      `/apis/berth.dev/v1alpha1/namespaces/default/containers?labelSelector=app%3D${service}`,
    );
    return res.status === 200 ? res.json<{ items: Replica[] }>().items : [];
  };
  // The user Network and its two members, one pinned to each host.
  const network = `span-${id}`;
  const members = [`span1-${id}`, `span2-${id}`];
  const containersPath = '/apis/berth.dev/v1alpha1/namespaces/default/containers';
  const networksPath = '/apis/berth.dev/v1alpha1/namespaces/default/networks';
  const t0 = Date.now();
  const mark = (what: string) => t.comment(`${what}: ${Date.now() - t0} ms`);
  t.teardown(async () => {
    // The replicas go while their agents still run (their finalizers), then the hosts.
    await request(ts, 'DELETE', `${services}/${service}`);
    for (const m of members) await request(ts, 'DELETE', `${containersPath}/${m}`);
    await eventually(async () => (await replicas()).length === 0, 60_000);
    await eventually(
      async () =>
        (await Promise.all(members.map((m) => request(ts, 'GET', `${containersPath}/${m}`)))).every(
          (r) => r.status === 404,
        ),
      60_000,
    );
    await request(ts, 'DELETE', `${networksPath}/${network}`);
    await hosts(['down', ...hostsArgs]).catch(() => undefined);
    // Their Nodes too, so that nothing is scheduled to hosts that are gone.
    for (const node of nodes) await request(ts, 'DELETE', `/api/v1/nodes/${node}`);
    await rm(dir, { recursive: true, force: true });
  });
  const [, token] = await Promise.all([
    hosts(['net', '2', ...hostsArgs, '--registry', registryPort, '--forward', apiPort]),
    berth(ts, ['token', 'create', '--ttl', '10m']),
  ]);
  mark('net and token');
  t.equal(token.code, 0, `berth token create ${token.stderr}`);
  // The agents look at the API servers' Leases every second (30 s by default) for their list of servers.
  await hosts(['agents', ...hostsArgs, '--server', `https://127.0.0.1:${apiPort}`, '--token', token.stdout.trim()], {
    BERTH_HOSTS_SERVER_REFRESH: '1',
  });
  mark('agents up');
  // Another address of the same server (hosts.sh's forwarder on the bridge), said by a server Lease as `berth up`
  // writes one: the joined agents add it to the list they joined with.
  const bridge = (await hosts(['addr', '--id', id])).trim();
  const otherUrl = `https://${bridge}:${apiPort}`;
  const leases = '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases';
  const leased = await request(ts, 'POST', leases, {
    contentType: 'application/json',
    body: JSON.stringify({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: `berth-apiserver-test-${id}`, labels: { 'berth.dev/apiserver': 'true' } },
      spec: {
        holderIdentity: otherUrl,
        leaseDurationSeconds: 600,
        renewTime: new Date().toISOString().replace(/Z$/, '000Z'),
      },
    }),
  });
  t.equal(leased.status, 201, leased.status === 201 ? `a server Lease for ${otherUrl}` : leased.text);
  t.teardown(() => request(ts, 'DELETE', `${leases}/berth-apiserver-test-${id}`));
  // Only these two Nodes carry the label: the Service's two replicas spread one to each.
  for (const node of nodes) {
    const labelled = await request(ts, 'PATCH', `/api/v1/nodes/${node}`, {
      body: JSON.stringify({ metadata: { labels: { 'berth.dev/hosts-test': id } } }),
      contentType: 'application/merge-patch+json',
    });
    t.equal(labelled.status, 200, labelled.status === 200 ? `${node} labelled` : labelled.text);
  }
  const created = await request(ts, 'POST', services, {
    contentType: 'application/json',
    body: JSON.stringify({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: service, namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: service } },
        template: {
          metadata: { labels: { app: service } },
          spec: {
            image: `${registryAddress}/library/busybox:latest`,
            command: ['sh', '-c', 'hostname > /index.html; exec httpd -f -p 8080 -h /'],
            nodeSelector: { 'berth.dev/hosts-test': id },
            terminationGracePeriodSeconds: 0,
          },
        },
        ports: [{ port, targetPort: 8080 }],
      },
    }),
  });
  t.equal(created.status, 201, created.status === 201 ? `Service ${service} created` : created.text);
  // Its subnet comes from the controller's pool: the hosts' namespaces hold its bridges, so no other test meets them.
  const netCreated = await request(ts, 'POST', networksPath, {
    contentType: 'application/json',
    body: JSON.stringify({ apiVersion: 'berth.dev/v1alpha1', kind: 'Network', metadata: { name: network } }),
  });
  t.equal(netCreated.status, 201, netCreated.status === 201 ? `Network ${network} created` : netCreated.text);
  for (const [i, member] of members.entries()) {
    const made = await request(ts, 'POST', containersPath, {
      contentType: 'application/json',
      body: JSON.stringify({
        apiVersion: 'berth.dev/v1alpha1',
        kind: 'Container',
        metadata: { name: member, namespace: 'default' },
        spec: {
          image: `${registryAddress}/library/busybox:latest`,
          command: ['sh', '-c', 'hostname > /index.html; exec httpd -f -p 8080 -h /'],
          nodeName: nodes[i],
          networks: [{ name: network }],
          terminationGracePeriodSeconds: 0,
        },
      }),
    });
    t.equal(made.status, 201, made.status === 201 ? `${member} created on ${nodes[i]}` : made.text);
  }
  const ready = (r: Replica) =>
    r.status?.ips?.[0]?.ip !== undefined &&
    (r.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
  let placed: Replica[] = [];
  t.ok(
    await eventually(async () => {
      placed = (await replicas()).filter(ready);
      return placed.length === 2;
    }, 90_000),
    'both replicas Ready',
  );
  mark('replicas Ready');
  const byNode = new Map(placed.map((r) => [r.spec.nodeName ?? '', r]));
  t.same([...byNode.keys()].sort(), nodes, 'one replica on each host');
  const [one, two] = nodes.map((n) => byNode.get(n) as Replica) as [Replica, Replica];

  // Container to container across hosts: host 1's replica fetches host 2's page at its container address.
  const ip2 = two.status?.ips?.[0]?.ip ?? '';
  const fetched = await ts.kubectl([
    'exec',
    `pod/${one.metadata.name}`,
    '--',
    // busybox's own wget -T crashes (exit 139): timeout(1) bounds it instead.
    'timeout',
    '10',
    'wget',
    '-qO-',
    `http://${ip2}:8080/index.html`,
  ]);
  t.equal(
    fetched.stdout.trim(),
    two.metadata.name,
    `${one.metadata.name} reached ${ip2} on the other host ${fetched.stderr}`,
  );

  mark('exec');
  // Each host's published port leads to the replica on the other host too (the replicas each write their name).
  const address = bridge.replace(/\.1$/, '');
  for (const [i, other] of [
    [1, two],
    [2, one],
  ] as const) {
    const seen = new Set<string>();
    t.ok(
      await eventually(async () => {
        const body = await get(`${address}.${10 + i}`, port, '/index.html');
        if (body !== undefined) seen.add(body);
        return seen.has(other.metadata.name);
      }, 45_000),
      `host ${i}'s published port ${port} reached ${other.metadata.name} on the other host (answers: ${[...seen].join(', ')})`,
    );
  }

  // The user Network across hosts: each member's address is in its own host's slice, and host 1's member reaches
  // host 2's by address and by name (the Network's name server on host 1's gateway knows every member).
  let spanned: Replica[] = [];
  t.ok(
    await eventually(async () => {
      const got = await Promise.all(members.map((m) => request(ts, 'GET', `${containersPath}/${m}`)));
      spanned = got.filter((r) => r.status === 200).map((r) => r.json<Replica>());
      return spanned.length === 2 && spanned.every(ready);
    }, 90_000),
    `both members of ${network} Ready`,
  );
  mark('network members Ready');
  const netStatus = (await request(ts, 'GET', `${networksPath}/${network}`)).json<{
    status?: { nodes?: { name: string; subnet: string; tunnelAddress?: string }[] };
  }>().status;
  const slices = new Map((netStatus?.nodes ?? []).map((n) => [n.name, n]));
  const [m1, m2] = spanned as [Replica, Replica];
  for (const [i, m] of [m1, m2].entries()) {
    const slice = slices.get(nodes[i] ?? '');
    const ip = m.status?.ips?.[0]?.ip ?? '';
    t.ok(
      slice !== undefined &&
        inCidr(ip, slice.subnet) &&
        slice.tunnelAddress === `${bridge.replace(/\.1$/, '')}.${11 + i}`,
      `${m.metadata.name} at ${ip}, in ${nodes[i]}'s slice ${slice?.subnet} (tunnel ${slice?.tunnelAddress})`,
    );
  }
  const m2ip = m2.status?.ips?.[0]?.ip ?? '';
  for (const target of [m2ip, m2.metadata.name]) {
    const over = await ts.kubectl([
      'exec',
      `pod/${m1.metadata.name}`,
      '--',
      'timeout',
      '10',
      'wget',
      '-qO-',
      `http://${target}:8080/index.html`,
    ]);
    t.equal(
      over.stdout.trim(),
      m2.metadata.name,
      `${m1.metadata.name} reached ${target} on the other host ${over.stderr}`,
    );
  }
  // Isolation holds across hosts: host 1's Service replica, on the default network, does not reach host 2's member
  // (the tunnel carries only the Network's own bridge; host 1 drops berth0 → the Network's bridge).
  const isolated = await ts.kubectl([
    'exec',
    `pod/${one.metadata.name}`,
    '--',
    'timeout',
    '2',
    'wget',
    '-qO-',
    `http://${m2ip}:8080/index.html`,
  ]);
  t.not(isolated.stdout.trim(), m2.metadata.name, `${one.metadata.name} (not a member) did not reach ${m2ip}`);
  mark('network across hosts');

  // The agents' lists of servers now hold the Lease's server too, in the kubeconfig each keeps in its data dir.
  for (const i of [1, 2]) {
    let listed: string[] = [];
    t.ok(
      await eventually(async () => {
        const doc = parse(await readFile(join(dir, `host${i}`, 'kubeconfig'), 'utf8')) as {
          clusters?: { cluster?: Record<string, unknown> }[];
        };
        listed = clusterServers(doc.clusters?.[0]?.cluster);
        return listed.includes(otherUrl);
      }, 45_000),
      `host ${i}'s agent lists ${otherUrl} beside the server it joined through (${listed.join(', ')})`,
    );
  }
}
