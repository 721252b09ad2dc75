// Holds every published host port with a socket of this agent's, as kube-proxy holds its node ports: the DNAT
// rules take the traffic before it reaches the socket, but no other process can bind the port meanwhile, so a
// server started later on it fails loudly instead of having its connections sent to a Service's backends.
import { type HeldPort, holdHostPort } from '../network/port-holders.js';
import type { PublishedPort } from './service-endpoints.js';

const keyOf = (p: PublishedPort): string => `${p.protocol}/${p.hostIP}:${p.port}`;

export class PortHolder {
  readonly #held = new Map<string, HeldPort>();

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
        this.#held.set(key, await holdHostPort(p.protocol, p.hostIP, p.port));
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
