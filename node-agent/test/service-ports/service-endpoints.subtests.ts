// Which ports the Services publish and the rules that do it, without a host: selection of Ready replicas by
// selector and namespace, named target ports, an even statistic spread, stale chains deleted, and nothing of this
// agent's left once no port has a backend.
import t from 'tap';
import type { Container, Service } from '@berth/api';
import { chainNames, presentRules, renderRules } from '../../src/service-ports/iptables-rules.js';
import { publishedPorts } from '../../src/service-ports/service-endpoints.js';

const service = (spec: Partial<Service['spec']>, name = 'web', namespace = 'default'): Service => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Service',
  metadata: { name, namespace },
  spec: { selector: { matchLabels: { app: 'web' } }, template: { spec: { image: 'busybox' } }, ...spec },
});

const container = (
  name: string,
  ip: string,
  options: { ready?: boolean; labels?: Record<string, string>; namespace?: string; deleting?: boolean } = {},
): Container => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Container',
  metadata: {
    name,
    namespace: options.namespace ?? 'default',
    labels: options.labels ?? { app: 'web' },
    ...(options.deleting === true ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
  spec: { image: 'busybox', ports: [{ name: 'http', containerPort: 8080 }] },
  status: {
    phase: 'Running',
    ips: [{ ip, network: 'berth' }],
    conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True', reason: 'x' }],
  },
});

t.test('backends are the Ready, selected, living Containers of the namespace, at the named target port', async (t) => {
  const ports = publishedPorts(
    [
      service({
        ports: [
          { port: 80, targetPort: 'http', hostIP: '127.0.0.1' },
          { port: 53, protocol: 'UDP' },
        ],
      }),
    ],
    [
      container('b', '10.0.0.3'),
      container('a', '10.0.0.2'),
      container('unready', '10.0.0.4', { ready: false }),
      container('other-app', '10.0.0.5', { labels: { app: 'db' } }),
      container('other-ns', '10.0.0.6', { namespace: 'prod' }),
      container('leaving', '10.0.0.7', { deleting: true }),
    ],
  );
  t.same(
    ports.map((p) => [p.key, p.hostIP, p.protocol, p.backends.map((b) => `${b.container} ${b.ip}:${b.port}`)]),
    [
      ['default/web:53/udp', '0.0.0.0', 'udp', ['default/a 10.0.0.2:53', 'default/b 10.0.0.3:53']],
      ['default/web:80/tcp', '127.0.0.1', 'tcp', ['default/a 10.0.0.2:8080', 'default/b 10.0.0.3:8080']],
    ],
  );
});

t.test('an empty selector, SCTP and a Service being deleted publish nothing', async (t) => {
  const members = [container('a', '10.0.0.2')];
  t.same(publishedPorts([service({ selector: {}, ports: [{ port: 80 }] })], members), []);
  t.same(publishedPorts([service({ ports: [{ port: 80, protocol: 'SCTP' }] })], members), []);
  const gone = service({ ports: [{ port: 80 }] });
  gone.metadata.deletionTimestamp = '2026-01-01T00:00:00Z';
  t.same(publishedPorts([gone], members), []);
});

t.test('rules spread evenly, jump in once, and delete what is no longer used', async (t) => {
  const names = chainNames('abcd1234');
  const ports = publishedPorts(
    [service({ ports: [{ port: 8080, targetPort: 'http', hostIP: '127.0.0.1' }] })],
    [container('a', '10.0.0.2'), container('b', '10.0.0.3'), container('c', '10.0.0.4')],
  );
  const stale = names.port('default/old:1/tcp');
  const fresh = renderRules('abcd1234', ports, { chains: new Set([stale]), jumps: [] });
  const lines = fresh.input.split('\n');
  t.same(
    lines.filter((l) => l.includes('statistic')).map((l) => /--probability (\S+)/.exec(l)?.[1]),
    ['0.3333333333', '0.5000000000'],
    '1/3 then 1/2 of the rest, the last takes what is left',
  );
  t.equal(lines.filter((l) => l.includes('-j DNAT')).length, 3);
  t.equal(lines.filter((l) => /^-A (PREROUTING|OUTPUT|POSTROUTING) /.test(l)).length, 3, 'three hook jumps');
  t.ok(lines.includes(`-X ${stale}`), 'the stale chain is deleted');
  t.ok(
    lines.some((l) => l.includes('-d 127.0.0.1/32 -p tcp -m tcp --dport 8080')),
    'only on hostIP',
  );
  t.ok(lines.some((l) => l.includes('--ctorigdst 127.0.0.1/32 --ctorigdstport 8080') && l.endsWith('MASQUERADE')));

  // What iptables-save would print after it: the jumps are not added twice.
  const save = [
    ...[...fresh.chains.keys()].map((c) => `:${c} - [0:0]`),
    ...lines.filter((l) => /^-A (PREROUTING|OUTPUT|POSTROUTING) /.test(l)),
  ].join('\n');
  const present = presentRules(save, names);
  t.equal(present.jumps.length, 3);
  const again = renderRules('abcd1234', ports, present, fresh.chains).input.split('\n');
  t.equal(again.filter((l) => /^-A (PREROUTING|OUTPUT|POSTROUTING) /.test(l)).length, 0, 'no second jump');
  t.same(again, ['*nat', 'COMMIT', ''], 'nothing changed: nothing written');
  const fewer = ports.map((p) => ({ ...p, backends: p.backends.slice(1) }));
  const partial = renderRules('abcd1234', fewer, present, fresh.chains).input.split('\n');
  t.same(
    partial.filter((l) => l.startsWith(':')),
    [
      `:${names.port('default/web:8080/tcp')} - [0:0]`,
      `:${names.backend('default/web:8080/tcp', '10.0.0.2', 8080)} - [0:0]`,
    ],
    "one backend fewer: only its port's chain is rewritten and the backend's deleted",
  );

  const none = renderRules('abcd1234', [], present).input.split('\n');
  t.equal(none.filter((l) => l.startsWith('-D ')).length, 3, 'the jumps are deleted');
  t.equal(none.filter((l) => l.startsWith('-X ')).length, present.chains.size, 'every chain of this agent goes');
  t.notOk(
    presentRules(':BERTH-SP-ffff0000 - [0:0]\n:BSP-ffff0000-1 - [0:0]', names).chains.size,
    "another agent's chains are not ours",
  );
});
