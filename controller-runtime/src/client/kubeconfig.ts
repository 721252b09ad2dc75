// One kubeconfig file read down to what a client needs: the current context's server, the TLS options to reach
// it and the user's credentials, applied to a request as client-node's KubeConfig applies them.
//
// Here rather than client-node's KubeConfig: its module imports every generated API of client-node, about 60 MB
// of RSS in each isolate that loads it (bench/README.md, "Issue 16 figures, session 8: memory"). A user whose
// credentials come from a plugin (exec, auth-provider) is handed to client-node, loaded only then.
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { load as parseYaml } from 'js-yaml';
import { InvalidOptionError } from '../errors.js';

/** The current context's cluster, as client-node's `Cluster` names its fields. */
export interface KubeconfigCluster {
  readonly server: string;
  /** The CA, base64 PEM (`certificate-authority-data`). */
  readonly caData?: string | undefined;
  /** The CA's file (`certificate-authority`), absolute. */
  readonly caFile?: string | undefined;
}

/**
 * What a client needs of a kubeconfig. client-node's KubeConfig has this shape too, so a caller holding one (a
 * test, a program that built it in memory) passes it as it is.
 */
export interface Kubeconfig {
  /** null when the current context names no cluster. */
  getCurrentCluster(): KubeconfigCluster | null;
  /** Sets the CA, client certificate, server name, Authorization and impersonation headers on `options`. */
  applyToHTTPSOptions(options: https.RequestOptions): Promise<void>;
}

type Entry = Record<string, unknown>;

const entryOf = (list: unknown, name: unknown, key: string): Entry | undefined => {
  if (!Array.isArray(list) || typeof name !== 'string') return undefined;
  const found = (list as unknown[]).find((e) => (e as Entry | null)?.['name'] === name) as Entry | undefined;
  const entry = found?.[key];
  return typeof entry === 'object' && entry !== null ? (entry as Entry) : undefined;
};

const text = (e: Entry | undefined, key: string): string | undefined => {
  const v = e?.[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/** A kubeconfig file, read once: files it names (CA, certificate, key, token) are read when it is loaded. */
export class KubeconfigFile implements Kubeconfig {
  readonly path: string;
  readonly #cluster: KubeconfigCluster | null;
  readonly #tls: https.RequestOptions;
  /** Set when the user's credentials come from a plugin: client-node's KubeConfig of the same file. */
  #plugin: Promise<Kubeconfig> | undefined;
  readonly #usesPlugin: boolean;

  private constructor(path: string, doc: Entry) {
    this.path = path;
    const dir = dirname(path);
    const inDir = (file: string) => (isAbsolute(file) ? file : join(dir, file));
    const read = (file: string, what: string): Buffer => {
      try {
        return readFileSync(inDir(file));
      } catch (e) {
        throw new InvalidOptionError(
          `kubeconfig ${path} names ${what} ${inDir(file)}, which cannot be read: ${(e as Error).message}`,
        );
      }
    };
    /** `KEY-data` (base64) or the file `KEY` names. */
    const material = (e: Entry | undefined, key: string): Buffer | undefined => {
      const data = text(e, `${key}-data`);
      if (data !== undefined) return Buffer.from(data, 'base64');
      const file = text(e, key);
      return file === undefined ? undefined : read(file, key);
    };
    const context = entryOf(doc['contexts'], doc['current-context'], 'context');
    const cluster = entryOf(doc['clusters'], context?.['cluster'], 'cluster');
    const user = entryOf(doc['users'], context?.['user'], 'user');
    const server = text(cluster, 'server');
    const caFile = text(cluster, 'certificate-authority');
    this.#cluster =
      server === undefined
        ? null
        : {
            server,
            caData: text(cluster, 'certificate-authority-data'),
            caFile: caFile === undefined ? undefined : inDir(caFile),
          };
    const tls: https.RequestOptions = {};
    if (cluster?.['insecure-skip-tls-verify'] === true) tls.rejectUnauthorized = false;
    const servername = text(cluster, 'tls-server-name');
    if (servername !== undefined) tls.servername = servername;
    const ca = material(cluster, 'certificate-authority');
    if (ca !== undefined) tls.ca = ca;
    const cert = material(user, 'client-certificate');
    if (cert !== undefined) tls.cert = cert;
    const key = material(user, 'client-key');
    if (key !== undefined) tls.key = key;
    const headers: Record<string, string> = {};
    const impersonate = text(user, 'as');
    if (impersonate !== undefined) headers['Impersonate-User'] = impersonate;
    const tokenFile = text(user, 'tokenFile') ?? text(user, 'token-file');
    const token =
      text(user, 'token') ?? (tokenFile === undefined ? undefined : read(tokenFile, 'tokenFile').toString());
    if (token !== undefined) headers['Authorization'] = `Bearer ${token.trim()}`;
    if (Object.keys(headers).length > 0) tls.headers = headers;
    const username = text(user, 'username');
    if (username !== undefined) tls.auth = `${username}:${text(user, 'password') ?? ''}`;
    this.#tls = tls;
    this.#usesPlugin = user?.['exec'] !== undefined || user?.['auth-provider'] !== undefined;
  }

  /** Reads and parses `path` (relative paths in it are relative to its folder). */
  static load(path: string): KubeconfigFile {
    const absolute = resolve(path);
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(absolute, 'utf8'));
    } catch (e) {
      throw new InvalidOptionError(`cannot read kubeconfig ${absolute}: ${(e as Error).message.split('\n')[0]}`);
    }
    return new KubeconfigFile(absolute, typeof doc === 'object' && doc !== null ? (doc as Entry) : {});
  }

  getCurrentCluster(): KubeconfigCluster | null {
    return this.#cluster;
  }

  async applyToHTTPSOptions(options: https.RequestOptions): Promise<void> {
    if (this.#usesPlugin) {
      this.#plugin ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
        const kc = new KubeConfig();
        kc.loadFromFile(this.path);
        return kc;
      });
      return (await this.#plugin).applyToHTTPSOptions(options);
    }
    const { headers, ...rest } = this.#tls;
    Object.assign(options, rest);
    if (headers !== undefined) options.headers = { ...options.headers, ...headers };
  }
}

/** A Kubeconfig as given, or the file at a path. */
export function loadKubeConfig(kubeconfig: Kubeconfig | string): Kubeconfig {
  return typeof kubeconfig === 'string' ? KubeconfigFile.load(kubeconfig) : kubeconfig;
}
