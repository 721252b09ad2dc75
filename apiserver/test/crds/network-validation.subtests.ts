// berth's Network CRD refuses what no node could run, with a 422 kubectl shows: a malformed subnet, host bits set,
// a gateway outside its subnet or an ipRange outside it. Its CEL rules use Kubernetes' IP and CIDR libraries.
import t from 'tap';
import { startTestServer } from '@berth/testkit';

const server = await startTestServer();
t.teardown(() => server.close());

const manifest = (name: string, spec: Record<string, unknown>) =>
  JSON.stringify({ apiVersion: 'berth.dev/v1alpha1', kind: 'Network', metadata: { name, namespace: 'default' }, spec });

t.test('a well-formed Network is accepted', async (t) => {
  const ok = await server.kubectl(['apply', '-f', '-'], {
    input: manifest('good', { subnet: '10.89.1.0/24', gateway: '10.89.1.1', ipRange: '10.89.1.128/25' }),
  });
  t.equal(ok.code, 0, ok.stderr);
  const bare = await server.kubectl(['apply', '-f', '-'], { input: manifest('bare', {}) });
  t.equal(bare.code, 0, bare.stderr);
});

t.test('bad subnets, gateways and ranges are 422 with the field named', async (t) => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['malformed', { subnet: '10.89.1.0/33' }, /spec\.subnet: Invalid value.*subnet must be an IPv4 CIDR/],
    ['hostbits', { subnet: '10.89.1.7/24' }, /spec\.subnet: Invalid value.*host bits zero/],
    ['v6', { subnet: 'fd00::/64' }, /spec\.subnet: Invalid value/],
    [
      'outside',
      { subnet: '10.89.1.0/24', gateway: '10.0.0.1' },
      /spec\.gateway: Invalid value.*gateway must be a host address inside subnet/,
    ],
    ['network-address', { subnet: '10.89.1.0/24', gateway: '10.89.1.0' }, /spec\.gateway: Invalid value/],
    ['no-subnet', { gateway: '10.89.1.1' }, /spec\.gateway: Invalid value/],
    [
      'range',
      { subnet: '10.89.1.0/24', ipRange: '10.89.2.0/25' },
      /spec\.ipRange: Invalid value.*ipRange must be a CIDR inside subnet/,
    ],
  ];
  for (const [name, spec, expected] of cases) {
    const res = await server.kubectl(['apply', '-f', '-'], { input: manifest(name, spec) });
    t.not(res.code, 0, `${name} refused`);
    t.match(res.stderr, /is invalid/, `${name}: 422`);
    t.match(res.stderr, expected, `${name}: ${res.stderr.trim()}`);
  }
});
