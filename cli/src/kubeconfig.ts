// Writes kubeconfigs for berth's API: a standalone one, and a `berth` cluster/user/context merged into an existing
// file without disturbing the user's other entries.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse, stringify } from 'yaml';
import { serversExtensionEntry } from './failover/server-list.js';

export interface KubeconfigEntry {
  readonly name: string;
  readonly server: string;
  /** Every API server of the cluster, `server` among them, for clients that fail over (a cluster extension). */
  readonly servers?: readonly string[];
  readonly caCert: string;
  /** The user's credential: a bearer token, or a client certificate (PEM) and its key. */
  readonly token?: string;
  readonly clientCertificate?: { readonly cert: string; readonly key: string };
}

interface Named<T> {
  name: string;
  [key: string]: unknown;
  value?: T;
}

interface KubeconfigFile {
  apiVersion: 'v1';
  kind: 'Config';
  clusters: Named<unknown>[];
  users: Named<unknown>[];
  contexts: Named<unknown>[];
  'current-context'?: string;
  preferences?: Record<string, unknown>;
  [key: string]: unknown;
}

const entries = (e: KubeconfigEntry) => ({
  cluster: {
    name: e.name,
    cluster: {
      server: e.server,
      'certificate-authority-data': Buffer.from(e.caCert).toString('base64'),
      ...serversExtensionEntry(e.servers ?? []),
    },
  },
  user: {
    name: e.name,
    user:
      e.clientCertificate === undefined
        ? { token: e.token ?? '' }
        : {
            'client-certificate-data': Buffer.from(e.clientCertificate.cert).toString('base64'),
            'client-key-data': Buffer.from(e.clientCertificate.key).toString('base64'),
          },
  },
  context: { name: e.name, context: { cluster: e.name, user: e.name, namespace: 'default' } },
});

const upsert = (list: Named<unknown>[], item: Named<unknown>) => [...list.filter((x) => x.name !== item.name), item];

async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}

/** Merges the berth entry into `path` (created if missing) and makes it the current context. */
export async function mergeKubeconfig(path: string, entry: KubeconfigEntry): Promise<void> {
  let config: KubeconfigFile = { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] };
  try {
    const parsed = parse(await readFile(path, 'utf8')) as Partial<KubeconfigFile> | null;
    if (parsed !== null && typeof parsed === 'object')
      config = {
        ...config,
        ...parsed,
        clusters: parsed.clusters ?? [],
        users: parsed.users ?? [],
        contexts: parsed.contexts ?? [],
      };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const { cluster, user, context } = entries(entry);
  config.clusters = upsert(config.clusters, cluster);
  config.users = upsert(config.users, user);
  config.contexts = upsert(config.contexts, context);
  config['current-context'] = entry.name;
  await writeAtomically(path, stringify(config));
}

/** Writes a kubeconfig holding only the berth entry. */
export async function writeKubeconfig(path: string, entry: KubeconfigEntry): Promise<void> {
  const { cluster, user, context } = entries(entry);
  const config: KubeconfigFile = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [cluster],
    users: [user],
    contexts: [context],
    'current-context': entry.name,
    preferences: {},
  };
  await writeAtomically(path, stringify(config));
}
