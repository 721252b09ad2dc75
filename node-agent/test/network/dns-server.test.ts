// NetworkDns: a name server that cannot bind (its gateway is no address here) rejects and keeps no socket open.
import { readdir } from 'node:fs/promises';
import t from 'tap';
import { NetworkDns } from '../../src/network/dns-server.js';

const openFds = async () => (await readdir('/proc/self/fd')).length;

t.test('a failed bind rejects and leaves no socket behind', async (t) => {
  const dns = new NetworkDns(() => undefined);
  t.teardown(() => dns.close());
  const before = await openFds();
  // 192.0.2.1 (TEST-NET-1) is no address of this host: bind fails with EADDRNOTAVAIL, nothing is sent.
  for (let i = 0; i < 10; i++) await t.rejects(dns.ensure('net', '192.0.2.1'), { code: 'EADDRNOTAVAIL' });
  t.equal(await openFds(), before, 'no file descriptor left open by the failed binds');
});
