// Published host ports are held open by the agent for as long as their DNAT rules stand, as kubelet's hostport
// manager holds them. The rules alone reserve nothing: a host process listening there would be silently shadowed,
// and another program (or a second agent on this host) could be handed the same port and publish it again, so
// that one of the two loses its traffic to the other. A held socket makes every later bind fail with EADDRINUSE.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import type { PortMapping } from './network.js';

export type HeldPort = Server | Socket;

/**
 * Binds `address:port` and keeps it; rejects with the bind's error (`EADDRINUSE`, `EADDRNOTAVAIL`, …). Nothing
 * should ever connect (DNAT rules take the traffic before it reaches the socket); whatever does is closed.
 */
export function holdHostPort(protocol: 'tcp' | 'udp', address: string, port: number): Promise<HeldPort> {
  return new Promise((resolve, reject) => {
    if (protocol === 'udp') {
      const socket = createSocket('udp4');
      socket.once('error', (err) => {
        socket.close();
        reject(err);
      });
      socket.bind({ address, port, exclusive: true }, () => resolve(socket));
      return;
    }
    const server = createServer((conn) => conn.destroy());
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true }, () => resolve(server));
  });
}

const close = (held: HeldPort) => new Promise<void>((resolve) => held.close(() => resolve()));

/** The sockets holding each container's published ports. */
export class PortHolders {
  readonly #held = new Map<string, HeldPort[]>();

  /**
   * Holds every port of `id` (already held: nothing to do). On the first port that cannot be bound, releases
   * the others and resolves with that port and the bind's error code.
   */
  async hold(
    id: string,
    ports: readonly PortMapping[],
  ): Promise<{ readonly port: PortMapping; readonly code: string } | undefined> {
    if (this.#held.has(id) || ports.length === 0) return undefined;
    const held: HeldPort[] = [];
    for (const port of ports) {
      try {
        held.push(await holdHostPort(port.protocol, port.hostIP, port.hostPort));
      } catch (err) {
        await Promise.all(held.map(close));
        const e = err as NodeJS.ErrnoException;
        return { port, code: e.code ?? e.message };
      }
    }
    this.#held.set(id, held);
    return undefined;
  }

  async release(id: string): Promise<void> {
    const held = this.#held.get(id) ?? [];
    this.#held.delete(id);
    await Promise.all(held.map(close));
  }
}

/** Two mappings claim the same host socket (0.0.0.0 overlaps every address). */
export function portsClash(a: PortMapping, b: PortMapping): boolean {
  return (
    a.protocol === b.protocol &&
    a.hostPort === b.hostPort &&
    (a.hostIP === b.hostIP || a.hostIP === '0.0.0.0' || b.hostIP === '0.0.0.0')
  );
}
