// Reads the kubeconfig kubectl would use — $KUBECONFIG's files merged as kubectl merges them (the first file to
// set a value wins), else ~/.kube/config — down to what one HTTPS connection needs: the server, its CA, the
// user's token or client certificate, the context's namespace.
//
// Here rather than client-node's KubeConfig: importing client-node costs every command about a second of CPU,
// more than the command itself. Credential plugins (exec, auth-provider) are refused with a clear error.

import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  connectionOf,
  entryText as str,
  type KubeconfigConnection,
  type KubeconfigEntry as Entry,
  type KubeconfigFailure,
  type LocatedEntry as Loaded,
  readKubeconfigYaml,
} from '@berth/controller-runtime/kubeconfig-entries';
import { KubeconfigError } from './errors.js';
import { clusterServers } from './failover/server-list.js';

/** The current context's connection (the cluster's server and TLS, the user's credentials) and namespace. */
export interface KubeconfigTarget extends KubeconfigConnection {
  readonly server: string;
  /** Every server the cluster entry lists (`server` first), for failover. */
  readonly servers: readonly string[];
  readonly namespace: string | undefined;
}

interface Merged {
  currentContext: string | undefined;
  readonly clusters: Map<string, Loaded>;
  readonly users: Map<string, Loaded>;
  readonly contexts: Map<string, Loaded>;
}

/** The kubeconfig files in kubectl's order: $KUBECONFIG's, else ~/.kube/config. */
export function kubeconfigFiles(): string[] {
  const list = (process.env['KUBECONFIG'] ?? '').split(':').filter((p) => p !== '');
  return list.length > 0 ? list : [join(homedir(), '.kube', 'config')];
}

function addNamed(target: Map<string, Loaded>, list: unknown, key: string, dir: string): void {
  if (!Array.isArray(list)) return;
  for (const item of list as Entry[]) {
    const name = item?.['name'];
    const entry = item?.[key];
    if (typeof name === 'string' && typeof entry === 'object' && entry !== null && !target.has(name))
      target.set(name, { entry: entry as Entry, dir });
  }
}

const fail: KubeconfigFailure = (message, cause) => new KubeconfigError(message, cause);

function load(): Merged {
  const merged: Merged = { currentContext: undefined, clusters: new Map(), users: new Map(), contexts: new Map() };
  const paths = kubeconfigFiles();
  let read = 0;
  for (const path of paths) {
    // kubectl skips missing files of a KUBECONFIG list; a lone missing file is the error below.
    const doc = readKubeconfigYaml(path, fail);
    if (doc === undefined) continue;
    read++;
    const dir = dirname(resolve(path));
    if (
      merged.currentContext === undefined &&
      typeof doc['current-context'] === 'string' &&
      doc['current-context'] !== ''
    )
      merged.currentContext = doc['current-context'];
    addNamed(merged.clusters, doc['clusters'], 'cluster', dir);
    addNamed(merged.users, doc['users'], 'user', dir);
    addNamed(merged.contexts, doc['contexts'], 'context', dir);
  }
  if (read === 0)
    throw new KubeconfigError(
      `cannot read kubeconfig: no such file ${paths.join(':')} (set KUBECONFIG, or run \`berth up\`)`,
    );
  return merged;
}

/** The current context's cluster, user and namespace. */
export function currentTarget(): KubeconfigTarget {
  const kc = load();
  const contextName = kc.currentContext;
  if (contextName === undefined)
    throw new KubeconfigError('no current context in the kubeconfig (set KUBECONFIG, or run `berth up`)');
  const context = kc.contexts.get(contextName)?.entry;
  if (context === undefined)
    throw new KubeconfigError(`the kubeconfig's current context "${contextName}" does not exist`);
  const clusterName = str(context, 'cluster') ?? '';
  const cluster = kc.clusters.get(clusterName);
  const server = str(cluster?.entry, 'server');
  if (cluster === undefined || server === undefined)
    throw new KubeconfigError(
      `no server for cluster "${clusterName}" in the kubeconfig (set KUBECONFIG, or run \`berth up\`)`,
    );
  const userName = str(context, 'user');
  const user = userName === undefined ? undefined : kc.users.get(userName);
  if (user?.entry['exec'] !== undefined || user?.entry['auth-provider'] !== undefined)
    throw new KubeconfigError(
      `the kubeconfig's user "${userName ?? ''}" uses a credential plugin, which berth's CLI does not run: give it a token or a client certificate`,
    );
  return {
    ...connectionOf(cluster, user, fail),
    server,
    servers: clusterServers(cluster.entry),
    namespace: str(context, 'namespace'),
  };
}

export interface ContextSummary {
  readonly name: string;
  readonly current: boolean;
  readonly cluster: string;
  readonly user: string;
  readonly namespace: string | undefined;
  readonly server: string | undefined;
}

/** Every context of the merged kubeconfig, sorted by name, as `kubectl config get-contexts` lists them. */
export function listContexts(): ContextSummary[] {
  const kc = load();
  return [...kc.contexts.entries()]
    .map(([name, { entry }]) => {
      const cluster = str(entry, 'cluster') ?? '';
      return {
        name,
        current: name === kc.currentContext,
        cluster,
        user: str(entry, 'user') ?? '',
        namespace: str(entry, 'namespace'),
        server: str(kc.clusters.get(cluster)?.entry, 'server'),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
