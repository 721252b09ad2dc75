// NetworkDns: a name server that cannot bind (its gateway is no address here) rejects and keeps no socket open.
import { readdir, readlink } from 'node:fs/promises';
import t from 'tap';
import { NetworkDns } from '../../src/network/dns-server.js';

// Sockets only: the process's other descriptors (tap's pipes, the loader's files) come and go on their own.
const openSockets = async () => {
  const links = await Promise.all(
    (await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')),
  );
  return links.filter((link) => link.startsWith('socket:')).length;
};

t.test('a failed bind rejects and leaves no socket behind', async (t) => {
  const dns = new NetworkDns(() => undefined);
  t.teardown(() => dns.close());
  // 192.0.2.1 (TEST-NET-1) is no address of this host: bind fails with EADDRNOTAVAIL, nothing is sent.
  // One failure first, so whatever Node opens once for its first UDP socket is not counted.
  await t.rejects(dns.ensure('net', '192.0.2.1'), { code: 'EADDRNOTAVAIL' });
  const before = await openSockets();
  for (let i = 0; i < 10; i++) await t.rejects(dns.ensure('net', '192.0.2.1'), { code: 'EADDRNOTAVAIL' });
  t.equal(await openSockets(), before, 'no socket left open by the failed binds');
});
