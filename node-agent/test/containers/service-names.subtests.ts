// A Service's name on a network: the addresses there of the Containers its selector selects whose Ready condition
// is True — not the unready, the unselected, another namespace's, another network's or a deleting one's.
import t from 'tap';
import type { Container, Service } from '@berth/api';
import { containerAddresses, serviceAddresses, serviceRecords } from '../../src/containers/container-names.js';

function container(
  name: string,
  labels: Record<string, string>,
  ip: string,
  options: { ready?: boolean; namespace?: string; network?: string; deleting?: boolean } = {},
): Container {
  return {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: {
      name,
      namespace: options.namespace ?? 'default',
      labels,
      ...(options.deleting === true ? { deletionTimestamp: '2026-12-01T00:00:00Z' } : {}),
    },
    spec: { image: 'busybox' },
    status: {
      phase: 'Running',
      ips: [{ ip, network: options.network ?? 'backend' }],
      conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }],
    },
  };
}

const service = (name: string, matchLabels: Record<string, string>, namespace = 'default'): Service =>
  ({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { matchLabels }, template: { spec: { image: 'busybox' } } },
  }) as Service;

const all = [
  container('client', { app: 'client' }, '10.1.0.2'),
  container('web-1', { app: 'web' }, '10.1.0.11'),
  container('web-2', { app: 'web' }, '10.1.0.12'),
  container('web-starting', { app: 'web' }, '10.1.0.13', { ready: false }),
  container('web-leaving', { app: 'web' }, '10.1.0.14', { deleting: true }),
  container('web-elsewhere', { app: 'web' }, '10.2.0.11', { network: 'other' }),
  container('web-other-ns', { app: 'web' }, '10.1.0.15', { namespace: 'prod' }),
  container('db', { app: 'db' }, '10.1.0.20'),
];
const services = [service('web', { app: 'web' }), service('web', { app: 'web' }, 'prod')];

t.test('the Ready replicas on the asked network, in the asker namespace', async (t) => {
  t.same(serviceAddresses(services, all, 'backend', 'web', '10.1.0.2'), ['10.1.0.11', '10.1.0.12']);
  t.same(serviceAddresses(services, all, 'backend', 'web.prod', '10.1.0.2'), ['10.1.0.15'], 'name.namespace');
  t.same(serviceAddresses(services, all, 'other', 'web', '10.2.0.11'), ['10.2.0.11'], 'per network');
  t.equal(serviceAddresses(services, all, 'backend', 'db', '10.1.0.2'), undefined, 'no Service named db');
  t.equal(
    serviceAddresses(services, all, 'backend', 'web', '10.9.9.9'),
    undefined,
    'an unknown asker has no namespace',
  );
  const none = [service('web', { app: 'nothing-has-this' })];
  t.equal(serviceAddresses(none, all, 'backend', 'web', '10.1.0.2'), undefined, 'no Ready replica: no name');
});

t.test('a Container by that name answers before the Service', async (t) => {
  const named = [...all, container('web', { app: 'solo' }, '10.1.0.30')];
  t.same(containerAddresses(named, 'backend', 'web', '10.1.0.2'), ['10.1.0.30']);
});

t.test("SRV of a Service's named port: one record per Ready replica, its container port", async (t) => {
  const api = {
    ...service('api', { app: 'web' }),
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { spec: { image: 'busybox' } },
      ports: [
        { name: 'http', port: 8080, targetPort: 80 },
        { name: 'metrics', port: 9090, targetPort: 'metrics' },
        { name: 'dns', port: 53, protocol: 'UDP' as const },
      ],
    },
  } as Service;
  const withPorts = all.map((c) =>
    c.metadata.name === 'web-1' ? { ...c, spec: { ...c.spec, ports: [{ name: 'metrics', containerPort: 9100 }] } } : c,
  );
  t.same(serviceRecords([api], withPorts, 'backend', '_http._tcp.api', '10.1.0.2'), [
    { port: 80, target: 'web-1.default' },
    { port: 80, target: 'web-2.default' },
  ]);
  t.same(
    serviceRecords([api], withPorts, 'backend', '_metrics._tcp.api.default', '10.1.0.2'),
    [{ port: 9100, target: 'web-1.default' }],
    'a targetPort by name: only the replica that names it',
  );
  t.same(serviceRecords([api], withPorts, 'backend', '_dns._udp.api', '10.1.0.2')?.[0], {
    port: 53,
    target: 'web-1.default',
  });
  t.equal(serviceRecords([api], withPorts, 'backend', '_dns._tcp.api', '10.1.0.2'), undefined, 'by protocol');
  t.equal(serviceRecords([api], withPorts, 'backend', '_ftp._tcp.api', '10.1.0.2'), undefined, 'no such port');
});

t.test("two namespaces' Networks of one name are two networks: neither resolves the other's members", async (t) => {
  // The name server of a user Network is keyed namespace_name (its definition's id); status.ips name the network.
  const both = [
    container('web', { app: 'web' }, '10.3.0.2', { namespace: 'shop', network: 'app' }),
    container('client', { app: 'client' }, '10.3.0.3', { namespace: 'shop', network: 'app' }),
    container('web', { app: 'web' }, '10.4.0.2', { namespace: 'blog', network: 'app' }),
    container('reader', { app: 'reader' }, '10.4.0.3', { namespace: 'blog', network: 'app' }),
  ];
  t.same(containerAddresses(both, 'shop_app', 'web', '10.3.0.3'), ['10.3.0.2'], "shop's web, by name");
  t.same(containerAddresses(both, 'shop_app', 'web.shop', '10.3.0.3'), ['10.3.0.2']);
  t.equal(containerAddresses(both, 'shop_app', 'web.blog', '10.3.0.3'), undefined, "blog's web is not on shop's app");
  t.same(containerAddresses(both, 'blog_app', 'web', '10.4.0.3'), ['10.4.0.2'], "blog's web on blog's app");
  const services = [service('web', { app: 'web' }, 'shop'), service('web', { app: 'web' }, 'blog')];
  t.same(serviceAddresses(services, both, 'shop_app', 'web', '10.3.0.3'), ['10.3.0.2']);
  t.equal(serviceAddresses(services, both, 'shop_app', 'web.blog', '10.3.0.3'), undefined);
  t.same(serviceAddresses(services, both, 'blog_app', 'web.blog', '10.4.0.3'), ['10.4.0.2']);
});
