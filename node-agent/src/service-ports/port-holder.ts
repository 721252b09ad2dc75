// Holds every published host port with a socket of this agent's, as kube-proxy holds its node ports: the DNAT
// rules take the traffic before it reaches the socket, but no other process can bind the port meanwhile, so a
// server started later on it fails loudly instead of having its connections sent to a Service's backends.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import type { PublishedPort } from './service-endpoints.js';

type Held = Server | Socket;

const keyOf = (p: PublishedPort): string => `${p.protocol}/${p.hostIP}:${p.port}`;

function listen(p: PublishedPort): Promise<Held> {
  return new Promise((resolve, reject) => {
    if (p.protocol === 'udp') {
      const socket = createSocket('udp4');
      socket.once('error', reject);
      socket.bind(p.port, p.hostIP, () => resolve(socket));
      return;
    }
    const server = createServer((conn) => conn.destroy());
    server.once('error', reject);
    server.listen({ port: p.port, host: p.hostIP, exclusive: true }, () => resolve(server));
  });
}

export class PortHolder {
  readonly #held = new Map<string, Held>();

  /**
   * Holds exactly `ports` (opening the new ones, closing those gone); returns the ports another process already
   * had, which stay unheld and are tried again next time (the rules are applied all the same, as kube-proxy does).
   * A port that could not be held for another reason (an address not on this node) is retried too, silently.
   */
  async hold(ports: readonly PublishedPort[]): Promise<string[]> {
    const wanted = new Map(ports.map((p) => [keyOf(p), p]));
    for (const [key, held] of this.#held)
      if (!wanted.has(key)) {
        held.close();
        this.#held.delete(key);
      }
    const taken: string[] = [];
    for (const [key, p] of wanted) {
      if (this.#held.has(key)) continue;
      try {
        this.#held.set(key, await listen(p));
      } catch (err) {
        // An address not on this node (EADDRNOTAVAIL) has nothing to hold; only a port another process has is news.
        if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') taken.push(key);
      }
    }
    return taken;
  }

  close(): void {
    for (const held of this.#held.values()) held.close();
    this.#held.clear();
  }
}
