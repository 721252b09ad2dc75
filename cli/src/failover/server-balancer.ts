// A loopback TCP balancer over the cluster's API servers, as a k3s agent runs one: each new connection goes to the
// server the last one reached, else to the next in the list that answers. TLS passes through untouched (every berth
// serving certificate names 127.0.0.1), so the client still checks the cluster's CA. When a server dies its
// connections close; the client's informers watch again through the next server, from their resourceVersion.

import net from 'node:net';
import { UsageError } from '../errors.js';

export interface ServerBalancer {
  /** `https://127.0.0.1:PORT`, the server to give the client. */
  readonly url: string;
  /** The server new connections go to first. */
  readonly current: string;
  /** The servers it balances over, in order. */
  readonly servers: readonly string[];
  /** Balances over these from now on (connections open stay where they are); an empty list is ignored. */
  setServers(servers: readonly string[]): void;
  close(): Promise<void>;
}

export interface ServerBalancerOptions {
  /** How long a server may take to accept before the next is tried. @default 3000 */
  readonly connectTimeoutMs?: number;
  /** Told when connections move to another server. */
  readonly onSwitch?: (from: string, to: string) => void;
}

interface Target {
  readonly url: string;
  readonly host: string;
  readonly port: number;
}

function target(url: string): Target {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`"${url}" is not a server URL`);
  }
  if (u.protocol !== 'https:') throw new UsageError(`server ${url} is not https://`);
  return { url: u.origin, host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port || 443) };
}

function connect(t: Target, timeoutMs: number): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: t.host, port: t.port });
    const fail = () => {
      socket.destroy();
      resolve(undefined);
    };
    socket.setTimeout(timeoutMs, fail);
    socket.once('error', fail);
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.removeListener('error', fail);
      // A watch sits idle between events: keep-alive probes find a peer that went away without a word.
      socket.setKeepAlive(true, 10_000);
      resolve(socket);
    });
  });
}

/** Joins two sockets; either side's end or failure ends the other. */
function splice(a: net.Socket, b: net.Socket): void {
  const destroy = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', destroy);
  b.on('error', destroy);
  a.once('close', () => b.end());
  b.once('close', () => a.end());
  a.pipe(b);
  b.pipe(a);
}

export async function startServerBalancer(
  servers: readonly string[],
  options: ServerBalancerOptions = {},
): Promise<ServerBalancer> {
  let targets = servers.map(target);
  if (targets.length === 0) throw new UsageError('no API server to balance over');
  const timeoutMs = options.connectTimeoutMs ?? 3000;
  let current = 0;
  const open = new Set<net.Socket>();

  /** The first server that accepts, from the current one on (over the list as it was when the dial began). */
  async function dial(): Promise<net.Socket | undefined> {
    const list = targets;
    const start = current % list.length;
    for (let i = 0; i < list.length; i++) {
      const t = list[(start + i) % list.length] as Target;
      const socket = await connect(t, timeoutMs);
      if (socket === undefined) continue;
      const was = targets[current]?.url;
      if (was !== t.url) {
        const n = targets.findIndex((x) => x.url === t.url);
        if (n >= 0) {
          options.onSwitch?.(was ?? '', t.url);
          current = n;
        }
      }
      return socket;
    }
    return undefined;
  }

  const listener = net.createServer((client) => {
    open.add(client);
    client.once('close', () => open.delete(client));
    // The client's first bytes wait (a socket is paused until piped) until the upstream is there.
    client.on('error', () => client.destroy());
    void dial().then((upstream) => {
      if (upstream === undefined || client.destroyed) {
        upstream?.destroy();
        client.destroy();
        return;
      }
      open.add(upstream);
      upstream.once('close', () => open.delete(upstream));
      splice(client, upstream);
    });
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = listener.address() as net.AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    get current() {
      return (targets[current] as Target).url;
    },
    get servers() {
      return targets.map((t) => t.url);
    },
    setServers(next) {
      const parsed = next.map(target);
      if (parsed.length === 0) return;
      // New connections keep going to the server they went to, if it is still listed.
      const was = (targets[current] as Target).url;
      targets = parsed;
      current = Math.max(
        0,
        targets.findIndex((t) => t.url === was),
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        listener.close(() => resolve());
      }),
  };
}
