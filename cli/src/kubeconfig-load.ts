// Reads the kubeconfig kubectl would use — $KUBECONFIG's files merged as kubectl merges them (the first file to
// set a value wins), else ~/.kube/config — down to what one HTTPS connection needs: the server, its CA, the
// user's token or client certificate, the context's namespace.
//
// Here rather than client-node's KubeConfig: importing client-node costs every command about a second of CPU,
// more than the command itself. Credential plugins (exec, auth-provider) are refused with a clear error.

import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
// js-yaml, as @kubernetes/client-node reads kubeconfigs: one module, where yaml's 70 files were a fifth of a start.
import { load as parseYaml } from 'js-yaml';
import { KubeconfigError } from './errors.js';
import { clusterServers } from './failover/server-list.js';

export interface KubeconfigTarget {
  readonly server: string;
  /** Every server the cluster entry lists (`server` first), for failover. */
  readonly servers: readonly string[];
  readonly namespace: string | undefined;
  readonly ca: Buffer | undefined;
  readonly insecureSkipTlsVerify: boolean;
  readonly tlsServerName: string | undefined;
  readonly token: string | undefined;
  readonly clientCert: Buffer | undefined;
  readonly clientKey: Buffer | undefined;
  readonly basicAuth: string | undefined;
}

type Entry = Record<string, unknown>;

interface Loaded {
  readonly entry: Entry;
  /** Relative paths in an entry are relative to the file it came from. */
  readonly dir: string;
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

function load(): Merged {
  const merged: Merged = { currentContext: undefined, clusters: new Map(), users: new Map(), contexts: new Map() };
  const paths = kubeconfigFiles();
  let read = 0;
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      // kubectl skips missing files of a KUBECONFIG list; a lone missing file is the error below.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new KubeconfigError(`cannot read kubeconfig ${path}: ${(e as Error).message}`, e);
    }
    let doc: Entry;
    try {
      doc = (parseYaml(text) ?? {}) as Entry;
    } catch (e) {
      throw new KubeconfigError(`cannot read kubeconfig ${path}: ${(e as Error).message.split('\n')[0] ?? ''}`, e);
    }
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

const str = (e: Entry | undefined, key: string): string | undefined => {
  const v = e?.[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/** `X-data` (base64) or the file `X` names. */
function material(e: Entry | undefined, key: string, dir: string): Buffer | undefined {
  const data = str(e, `${key}-data`);
  if (data !== undefined) return Buffer.from(data, 'base64');
  const file = str(e, key);
  if (file === undefined) return undefined;
  const path = isAbsolute(file) ? file : join(dir, file);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new KubeconfigError(`the kubeconfig names ${key} ${path}, which cannot be read: ${(e as Error).message}`, e);
  }
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
  let token = str(user?.entry, 'token');
  const tokenFile = str(user?.entry, 'tokenFile');
  if (token === undefined && tokenFile !== undefined && user !== undefined)
    token = material({ tokenFile }, 'tokenFile', user.dir)?.toString('utf8').trim();
  const username = str(user?.entry, 'username');
  return {
    server,
    servers: clusterServers(cluster.entry),
    namespace: str(context, 'namespace'),
    ca: material(cluster.entry, 'certificate-authority', cluster.dir),
    insecureSkipTlsVerify: cluster.entry['insecure-skip-tls-verify'] === true,
    tlsServerName: str(cluster.entry, 'tls-server-name'),
    token,
    clientCert: user === undefined ? undefined : material(user.entry, 'client-certificate', user.dir),
    clientKey: user === undefined ? undefined : material(user.entry, 'client-key', user.dir),
    basicAuth: username === undefined ? undefined : `${username}:${str(user?.entry, 'password') ?? ''}`,
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
