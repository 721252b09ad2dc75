// Lets the host's own 127.0.0.1 connections be DNATed to a replica: route_localnet on the interface a replica is
// reached through (its bridge), as portmap's snat option does; without it the kernel drops a loopback source
// leaving on a non-loopback device.
import { readFile, writeFile } from 'node:fs/promises';
import { runCommand } from '../host/run-command.js';

export class RouteLocalnet {
  /** A replica's address → the device it is routed through (an address stays on its network's bridge). */
  readonly #deviceOf = new Map<string, string>();

  /**
   * Sets route_localnet on the devices `ips` are routed through; an address with no route is skipped. Checked on
   * every call: a bridge removed and made again under the same name starts without it. Never undone (portmap's
   * setting stays too).
   */
  async ensure(ips: Iterable<string>): Promise<void> {
    const devices = new Set<string>();
    for (const ip of ips) {
      let dev = this.#deviceOf.get(ip);
      if (dev === undefined) {
        const out = await runCommand('ip', ['-o', '-4', 'route', 'get', ip]);
        dev = /\bdev (\S+)/.exec(out.stdout)?.[1];
        if (dev === undefined || out.code !== 0) continue;
        this.#deviceOf.set(ip, dev);
      }
      if (dev !== 'lo') devices.add(dev);
    }
    for (const dev of devices) {
      const file = `/proc/sys/net/ipv4/conf/${dev}/route_localnet`;
      const now = await readFile(file, 'utf8').catch(() => undefined);
      // Gone since (its address moved on): forget the route, the next call looks it up again.
      if (now === undefined) {
        for (const [ip, d] of this.#deviceOf) if (d === dev) this.#deviceOf.delete(ip);
        continue;
      }
      if (now.trim() !== '1') await writeFile(file, '1');
    }
  }
}
