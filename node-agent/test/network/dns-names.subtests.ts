// NetworkDns answers over real UDP (on a loopback address of its own, port 53): A for a member's name, PTR for a
// member's address (name.namespace), SRV for a Service's port, NXDOMAIN for what it does not know. Needs root
// (port 53).
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import t from 'tap';
import { NetworkDns } from '../../src/network/dns-server.js';

const [a = 1, b = 1, c = 1] = randomBytes(3);
const server = `127.${a}.${b}.${(c % 250) + 2}`;
const dns = new NetworkDns((network, name) => (network === 'backend' && name === 'web' ? ['10.9.0.5'] : undefined), {
  nameAt: (network, ip) => (network === 'backend' && ip === '10.9.0.5' ? 'web.shop' : undefined),
  services: (network, name) =>
    network === 'backend' && name === '_http._tcp.websvc' ? [{ port: 8080, target: 'web.shop' }] : undefined,
});
t.teardown(() => dns.close());
await dns.ensure('backend', server);

function ask(name: string, type: 'A' | 'PTR' | 'SRV'): Promise<dnsPacket.DecodedPacket> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer for ${name}`));
    }, 5000);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      resolve(dnsPacket.decode(msg));
    });
    socket.send(dnsPacket.encode({ type: 'query', id: 7, questions: [{ type, name }] }), 53, server);
  });
}

/** The reply's rcode (the low four bits of its flags): 0 NOERROR, 3 NXDOMAIN. */
const rcodeOf = (p: dnsPacket.DecodedPacket) => (p.flags ?? 0) & 0xf;
const dataOf = (p: dnsPacket.DecodedPacket) =>
  (p.answers ?? []).map((x) => [
    x.type,
    'data' in x ? (typeof x.data === 'object' ? x.data : String(x.data)) : undefined,
  ]);

t.test('A and PTR of a member, NXDOMAIN otherwise', async (t) => {
  const forward = await ask('web', 'A');
  t.same(dataOf(forward), [['A', '10.9.0.5']]);
  const reverse = await ask('5.0.9.10.in-addr.arpa', 'PTR');
  t.equal(rcodeOf(reverse), 0, 'NOERROR');
  t.same(dataOf(reverse), [['PTR', 'web.shop']]);
  t.equal(rcodeOf(await ask('6.0.9.10.in-addr.arpa', 'PTR')), 3, 'NXDOMAIN for an address no member has');
  t.equal(rcodeOf(await ask('nosuch', 'A')), 3, 'NXDOMAIN for a name');
  const srv = await ask('_http._tcp.websvc', 'SRV');
  t.same(dataOf(srv), [['SRV', { priority: 0, weight: 10, port: 8080, target: 'web.shop' }]], "a Service's SRV");
  t.equal(rcodeOf(await ask('_nope._tcp.websvc', 'SRV')), 3, 'NXDOMAIN for a port it does not have');
});
