// A UDP backend that leaves a published port takes its conntrack entries with it, as kube-proxy clears them: the
// entries are put in the kernel's table with `conntrack -I` (as a client's packets would make them), the rules
// applied, a backend dropped. The other backend's entries and TCP's stay. Needs root and Debian's conntrack.
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import t from 'tap';
import { IptablesServicePorts } from '../../src/service-ports/iptables-service-ports.js';
import type { PublishedPort } from '../../src/service-ports/service-endpoints.js';

const run = promisify(execFile);
const rules = new IptablesServicePorts(randomBytes(4).toString('hex'));
// TEST-NET addresses: never local, so nothing real is ever DNATed.
const hostIP = '192.0.2.1';
const port = randomInt(20_000, 30_000);
const [a, b] = ['198.51.100.21', '198.51.100.22'];
const client = '203.0.113.7';

/** An entry as a client's packet to hostIP:port DNATed to `backend` makes. */
async function insert(protocol: 'udp' | 'tcp', backend: string, sport: number): Promise<void> {
  const state = protocol === 'tcp' ? ['--state', 'ESTABLISHED'] : [];
  await run('conntrack', [
    '-I',
    '-p',
    protocol,
    '-s',
    client,
    '-d',
    hostIP,
    '--sport',
    String(sport),
    '--dport',
    String(port),
    '-r',
    backend,
    '-q',
    client,
    '--reply-port-src',
    '53',
    '--reply-port-dst',
    String(sport),
    '-t',
    '120',
    ...state,
  ]);
}

/** How many entries of `protocol` lead to `backend`. */
async function entries(protocol: 'udp' | 'tcp', backend: string): Promise<number> {
  const out = await run('conntrack', ['-L', '-p', protocol, '--reply-src', backend, '--orig-port-dst', String(port)]);
  return out.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

const published = (protocol: 'udp' | 'tcp', backends: string[]): PublishedPort => ({
  key: `test/dns:${port}/${protocol}`,
  protocol,
  hostIP,
  port,
  backends: backends.map((ip, i) => ({ ip, port: 53, container: `test/dns-${i}` })),
});

t.teardown(async () => {
  await rules.apply([]);
  for (const ip of [a, b])
    for (const p of ['udp', 'tcp'])
      await run('conntrack', ['-D', '-p', p, '--reply-src', ip, '--orig-port-dst', String(port)]).catch(
        () => undefined,
      );
});

t.test('dropping a UDP backend clears its conntrack entries, and only its', async (t) => {
  await rules.apply([published('udp', [a, b]), published('tcp', [a, b])]);
  await insert('udp', a, 40_001);
  await insert('udp', a, 40_002);
  await insert('udp', b, 40_003);
  await insert('tcp', a, 40_004);
  t.same([await entries('udp', a), await entries('udp', b), await entries('tcp', a)], [2, 1, 1], 'the flows are there');
  await rules.apply([published('udp', [b]), published('tcp', [b])]);
  t.equal(await entries('udp', a), 0, "the dropped backend's UDP flows are gone");
  t.equal(await entries('udp', b), 1, "the remaining backend's stay");
  t.equal(await entries('tcp', a), 1, 'TCP flows are left to end on their own');
  await rules.apply([]);
  t.equal(await entries('udp', b), 0, 'removing the port clears the last backend too');
});
