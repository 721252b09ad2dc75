// One kubeconfig file read down to what a client needs: the current context's server, the TLS options to reach
// it and the user's credentials, applied to a request as client-node's KubeConfig applies them.
//
// Here rather than client-node's KubeConfig: its module imports every generated API of client-node, about 60 MB
// of RSS in each isolate that loads it (bench/README.md, "Issue 16 figures, session 8: memory"). A user whose
// credentials come from a plugin (exec, auth-provider) is handed to client-node, loaded only then.
import type https from 'node:https';
import { dirname, resolve } from 'node:path';
import { InvalidOptionError } from '../errors.js';
import {
  connectionOf,
  type KubeconfigEntry,
  type KubeconfigFailure,
  namedEntry,
  readKubeconfigFile,
} from './kubeconfig-entries.js';

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

const fail: KubeconfigFailure = (message) => new InvalidOptionError(message);

/** A kubeconfig file, read once: files it names (CA, certificate, key, token) are read when it is loaded. */
export class KubeconfigFile implements Kubeconfig {
  readonly path: string;
  readonly #cluster: KubeconfigCluster | null;
  readonly #tls: https.RequestOptions;
  /** Set when the user's credentials come from a plugin: client-node's KubeConfig of the same file. */
  #plugin: Promise<Kubeconfig> | undefined;
  readonly #usesPlugin: boolean;

  private constructor(path: string, doc: KubeconfigEntry, server: string | undefined) {
    this.path = path;
    const dir = dirname(path);
    const context = namedEntry(doc['contexts'], doc['current-context'], 'context');
    const cluster = namedEntry(doc['clusters'], context?.['cluster'], 'cluster');
    const user = namedEntry(doc['users'], context?.['user'], 'user');
    const c = connectionOf(
      cluster === undefined ? undefined : { entry: cluster, dir },
      user === undefined ? undefined : { entry: user, dir },
      fail,
    );
    const url = server ?? c.server;
    this.#cluster = url === undefined ? null : { server: url, caData: c.caData, caFile: c.caFile };
    const tls: https.RequestOptions = {};
    if (c.insecureSkipTlsVerify) tls.rejectUnauthorized = false;
    if (c.tlsServerName !== undefined) tls.servername = c.tlsServerName;
    if (c.ca !== undefined) tls.ca = c.ca;
    if (c.clientCert !== undefined) tls.cert = c.clientCert;
    if (c.clientKey !== undefined) tls.key = c.clientKey;
    const headers: Record<string, string> = {};
    if (c.impersonate !== undefined) headers['Impersonate-User'] = c.impersonate;
    if (c.token !== undefined) headers['Authorization'] = `Bearer ${c.token}`;
    if (Object.keys(headers).length > 0) tls.headers = headers;
    if (c.basicAuth !== undefined) tls.auth = c.basicAuth;
    this.#tls = tls;
    this.#usesPlugin = c.usesPlugin;
  }

  /**
   * Reads and parses `path` (relative paths in it are relative to its folder). `server` stands in for the current
   * cluster's (a loopback balancer over the servers it lists), with the same TLS and credentials.
   */
  static load(path: string, overrides: { readonly server?: string } = {}): KubeconfigFile {
    const absolute = resolve(path);
    return new KubeconfigFile(absolute, readKubeconfigFile(absolute, fail), overrides.server);
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
