// The name server of a network: answers its members' A queries for each other's names (and aliases), PTR
// queries for their addresses and SRV queries for Services' ports, from what the agent knows; a name it does not know goes to the network's upstreams (spec.dnsUpstreams) when it has some,
// else it is NXDOMAIN (never the host's resolver: it is off this machine). One UDP socket per network, on the
// bridge's gateway address, port 53. Packets are dns-packet's, not hand-parsed; a forwarded query is relayed whole.
import { createSocket, type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { forwardQuery } from './dns-forward.js';

/** The addresses `name` has for a query from `client` on network `network`; undefined: no such name. */
export type NameLookup = (network: string, name: string, client: string) => readonly string[] | undefined;
/** The name of the member at `ip` on `network` (PTR); undefined: no such member. */
export type AddressLookup = (network: string, ip: string) => string | undefined;
/** A service's port on one replica: `target` resolves (A) to the replica. */
export interface ServiceRecord {
  readonly port: number;
  readonly target: string;
}
/** The SRV records of `name` (`_port._proto.service[.namespace]`) for `client`; undefined: no such name. */
export type ServiceLookup = (network: string, name: string, client: string) => readonly ServiceRecord[] | undefined;

export interface NetworkDnsOptions {
  /** @default ignore */
  readonly onError?: (err: Error) => void;
  /** PTR answers. @default none (NXDOMAIN) */
  readonly nameAt?: AddressLookup;
  /** SRV answers. @default none (NXDOMAIN) */
  readonly services?: ServiceLookup;
}

/** `4.3.2.1.in-addr.arpa` → `1.2.3.4`; undefined for any other name. */
function reverseAddress(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(name);
  return m === null ? undefined : [m[4], m[3], m[2], m[1]].join('.');
}

const NXDOMAIN = 3;
const SERVFAIL = 2;
const TTL_SECONDS = 5;

export class NetworkDns {
  readonly #lookup: NameLookup;
  /** By "network@gateway": a network's gateway is its bridge's address. */
  readonly #servers = new Map<string, Promise<Socket>>();
  /** By the same key: where names the network does not know go ("ip" or "ip:port"). */
  readonly #upstreams = new Map<string, readonly string[]>();
  readonly #onError: (err: Error) => void;
  readonly #reverse: AddressLookup;
  readonly #services: ServiceLookup;

  constructor(lookup: NameLookup, options: NetworkDnsOptions | ((err: Error) => void) = {}) {
    const o = typeof options === 'function' ? { onError: options } : options;
    this.#lookup = lookup;
    this.#onError = o.onError ?? (() => undefined);
    this.#reverse = o.nameAt ?? (() => undefined);
    this.#services = o.services ?? (() => undefined);
  }

  /**
   * Serves `network` on `gateway`:53 (idempotent; the upstreams of the latest call apply); the bridge must carry
   * that address already.
   */
  async ensure(network: string, gateway: string, upstreams: readonly string[] = []): Promise<void> {
    const key = `${network}@${gateway}`;
    this.#upstreams.set(key, upstreams);
    let server = this.#servers.get(key);
    if (server === undefined) {
      server = this.#bind(network, gateway);
      this.#servers.set(key, server);
      server.catch(() => this.#servers.delete(key));
    }
    await server;
  }

  #bind(network: string, gateway: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = createSocket('udp4');
      // A failed bind leaves the socket open: close it, or each retry leaks one.
      const failed = (err: Error) => socket.close(() => reject(err));
      socket.once('error', failed);
      const upstreams = () => this.#upstreams.get(`${network}@${gateway}`) ?? [];
      socket.on('message', (msg, rinfo) => {
        this.#answer(network, msg, rinfo.address, upstreams()).then(
          (reply) => {
            if (reply !== undefined) socket.send(reply, rinfo.port, rinfo.address, (err) => err && this.#onError(err));
          },
          (err: unknown) => this.#onError(err as Error),
        );
      });
      socket.bind({ address: gateway, port: 53, exclusive: true }, () => {
        socket.off('error', failed);
        socket.on('error', this.#onError);
        resolve(socket);
      });
    });
  }

  async #answer(
    network: string,
    msg: Buffer,
    client: string,
    upstreams: readonly string[],
  ): Promise<Buffer | undefined> {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return undefined;
    }
    const rd = query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0;
    const answers: dnsPacket.Answer[] = [];
    let rcode = 0;
    try {
      for (const q of query.questions ?? []) {
        const name = q.name.replace(/\.$/, '').toLowerCase();
        const reversed = reverseAddress(name);
        if (reversed !== undefined) {
          const member = this.#reverse(network, reversed);
          if (member === undefined) rcode = NXDOMAIN;
          else if (q.type === 'PTR') answers.push({ type: 'PTR', name: q.name, ttl: TTL_SECONDS, data: member });
          continue;
        }
        if (q.type === 'SRV' && name.startsWith('_')) {
          const records = this.#services(network, name, client);
          if (records === undefined) rcode = NXDOMAIN;
          else
            for (const r of records)
              answers.push({
                type: 'SRV',
                name: q.name,
                ttl: TTL_SECONDS,
                data: { priority: 0, weight: 10, port: r.port, target: r.target },
              });
          continue;
        }
        const ips = this.#lookup(network, name, client);
        if (ips === undefined) {
          rcode = NXDOMAIN;
          continue;
        }
        // AAAA of a known name: no IPv6 here, an empty NOERROR answer (NODATA) rather than NXDOMAIN.
        if (q.type === 'A') for (const ip of ips) answers.push({ type: 'A', name: q.name, ttl: TTL_SECONDS, data: ip });
      }
    } catch (err) {
      this.#onError(err as Error);
      rcode = SERVFAIL;
    }
    if (rcode === NXDOMAIN && upstreams.length > 0) {
      // Not a name of this network: the upstreams answer it, as Docker's embedded server forwards.
      const relayed = await forwardQuery(msg, upstreams);
      if (relayed !== undefined) return relayed;
      rcode = SERVFAIL;
    }
    return dnsPacket.encode({
      type: 'response',
      ...(query.id !== undefined ? { id: query.id } : {}),
      flags: dnsPacket.AUTHORITATIVE_ANSWER | rd | rcode,
      questions: query.questions ?? [],
      answers: rcode === 0 ? answers : [],
    });
  }

  /** Whether `network` is served on `gateway` (or its socket is being bound). */
  serving(network: string, gateway: string): boolean {
    return this.#servers.has(`${network}@${gateway}`);
  }

  /** Stops serving `network` on `gateway` (its bridge is going); not serving it is fine. */
  async stop(network: string, gateway: string): Promise<void> {
    const key = `${network}@${gateway}`;
    const server = this.#servers.get(key);
    this.#servers.delete(key);
    this.#upstreams.delete(key);
    const socket = await server?.catch(() => undefined);
    if (socket !== undefined) await new Promise<void>((r) => socket.close(() => r()));
  }

  async close(): Promise<void> {
    const servers = [...this.#servers.values()];
    this.#servers.clear();
    for (const s of servers) {
      const socket = await s.catch(() => undefined);
      await new Promise<void>((r) => (socket === undefined ? r() : socket.close(() => r())));
    }
  }
}
