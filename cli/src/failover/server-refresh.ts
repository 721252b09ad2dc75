// An agent's list of API servers kept current: every so often it reads the servers' Leases (server-leases.ts) and
// balances over the one it works through plus every server whose Lease stands, instead of keeping the list it
// joined with; the kubeconfig in its data dir is rewritten to match, so a restart starts from the new list too.
// The server in use always stays: a server that advertises an address this host cannot reach never replaces it.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApiClient } from '@berth/controller-runtime';
import { parse, stringify } from 'yaml';
import type { ServerBalancer } from './server-balancer.js';
import { leasedServers } from './server-leases.js';
import { serversExtension, serversExtensionEntry } from './server-list.js';

export interface ServerRefreshOptions {
  readonly client: ApiClient;
  readonly balancer: ServerBalancer;
  /** The kubeconfig to rewrite with the list (the agent's own, in its data dir). */
  readonly kubeconfigPath?: string;
  /** @default 30000 */
  readonly intervalMs?: number;
  readonly onChange?: (servers: readonly string[]) => void;
  readonly onError?: (err: unknown) => void;
}

type Entry = Record<string, unknown>;

/** Writes `servers` into the current cluster's `berth.dev/servers` extension (kubectl keeps and ignores it). */
export async function writeServerList(path: string, servers: readonly string[]): Promise<void> {
  const doc = (parse(await readFile(path, 'utf8')) ?? {}) as Entry;
  const context = (doc['contexts'] as Entry[] | undefined)?.find((c) => c['name'] === doc['current-context']);
  const clusterName = (context?.['context'] as Entry | undefined)?.['cluster'];
  const entry = (doc['clusters'] as Entry[] | undefined)?.find((c) => c['name'] === clusterName);
  const cluster = entry?.['cluster'] as Entry | undefined;
  if (cluster === undefined) return;
  if (!servers.includes(String(cluster['server']))) cluster['server'] = servers[0];
  const others = ((cluster['extensions'] as Entry[] | undefined) ?? []).filter((e) => e['name'] !== serversExtension);
  const listed = serversExtensionEntry(servers).extensions ?? [];
  if (others.length + listed.length > 0) cluster['extensions'] = [...others, ...listed];
  else delete cluster['extensions'];
  // Whole or not at all: the agent reads it on its next start.
  await writeFile(`${path}.tmp`, stringify(doc), { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}

export function refreshServers(options: ServerRefreshOptions): { close(): Promise<void> } {
  const stop = new AbortController();
  const intervalMs = options.intervalMs ?? 30_000;
  const once = async () => {
    const leased = await leasedServers(options.client, Date.now(), stop.signal);
    const next = [...new Set([options.balancer.current, ...leased])];
    const now = options.balancer.servers;
    if (next.length === now.length && next.every((s, i) => s === now[i])) return;
    options.balancer.setServers(next);
    if (options.kubeconfigPath !== undefined) await writeServerList(options.kubeconfigPath, next);
    options.onChange?.(next);
  };
  const loop = (async () => {
    // The first look is one interval in: the list the agent joined with is fresh at its start.
    while (!stop.signal.aborted) {
      await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
      if (stop.signal.aborted) break;
      await once().catch((err: unknown) => {
        if (!stop.signal.aborted) options.onError?.(err);
      });
    }
  })();
  return {
    async close() {
      stop.abort();
      await loop;
    },
  };
}
