// The cluster's list of API servers in a kubeconfig: `server` is one of them, and a cluster extension named
// `berth.dev/servers` lists them all (kubectl keeps and ignores extensions), so berth's agents, controllers and CLI
// reach another server when theirs is gone. Also the `--server URL[,URL…]` flag's parsing.

import net from 'node:net';
import { UsageError } from '../errors.js';

export const serversExtension = 'berth.dev/servers';

/** `https://a:6443,https://b:6443` → the URLs' origins, in order, without repeats. */
export function parseServerList(flag: string): string[] {
  const urls = flag
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (urls.length === 0) throw new UsageError('--server needs at least one https:// URL');
  return [
    ...new Set(
      urls.map((s) => {
        let u: URL;
        try {
          u = new URL(s);
        } catch {
          throw new UsageError(`--server: "${s}" is not a URL`);
        }
        if (u.protocol !== 'https:') throw new UsageError(`--server: ${s} is not https://`);
        return u.origin;
      }),
    ),
  ];
}

/** The cluster entry's `extensions` holding the list (none for a single server). */
export function serversExtensionEntry(servers: readonly string[]): { extensions?: unknown[] } {
  return servers.length < 2 ? {} : { extensions: [{ name: serversExtension, extension: { servers: [...servers] } }] };
}

/** The servers a kubeconfig cluster entry lists: `server` first, then the extension's others. */
export function clusterServers(cluster: Record<string, unknown> | undefined): string[] {
  const server = typeof cluster?.['server'] === 'string' ? cluster['server'] : undefined;
  const listed: string[] = [];
  const extensions = cluster?.['extensions'];
  if (Array.isArray(extensions))
    for (const e of extensions as { name?: unknown; extension?: { servers?: unknown } }[]) {
      if (e?.name !== serversExtension || !Array.isArray(e.extension?.servers)) continue;
      for (const s of e.extension.servers) if (typeof s === 'string' && s !== '') listed.push(s);
    }
  return [...new Set([...(server === undefined ? [] : [server]), ...listed])];
}

/** Whether a TCP connection to the URL's host and port opens within `timeoutMs`. */
function reachable(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      resolve(false);
      return;
    }
    const socket = net.connect({
      host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: Number(u.port || (u.protocol === 'http:' ? 80 : 443)),
    });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => done(true));
  });
}

/** The first of `servers` that accepts a connection, else the first (whose failure the caller then reports). */
export async function firstReachable(servers: readonly string[], timeoutMs = 2000): Promise<string | undefined> {
  if (servers.length < 2) return servers[0];
  for (const s of servers) if (await reachable(s, timeoutMs)) return s;
  return servers[0];
}
