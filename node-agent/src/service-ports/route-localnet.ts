// Lets the host's own 127.0.0.1 connections be DNATed to a replica: route_localnet on the interface a replica is
// reached through (its bridge), as portmap's snat option does; without it the kernel drops a loopback source
// leaving on a non-loopback device.
import { writeFile } from 'node:fs/promises';
import { runCommand } from '../host/run-command.js';

export class RouteLocalnet {
  /** Interfaces set already by this process (the setting is never undone: portmap's stays too). */
  readonly #done = new Set<string>();
  readonly #deviceOf = new Map<string, string>();

  /** Sets route_localnet on the devices `ips` are routed through; an address with no route is skipped. */
  async ensure(ips: Iterable<string>): Promise<void> {
    for (const ip of ips) {
      let dev = this.#deviceOf.get(ip);
      if (dev === undefined) {
        const out = await runCommand('ip', ['-o', '-4', 'route', 'get', ip]);
        dev = /\bdev (\S+)/.exec(out.stdout)?.[1];
        if (dev === undefined || out.code !== 0) continue;
        this.#deviceOf.set(ip, dev);
      }
      if (this.#done.has(dev) || dev === 'lo') continue;
      await writeFile(`/proc/sys/net/ipv4/conf/${dev}/route_localnet`, '1');
      this.#done.add(dev);
    }
  }
}
