// How the CLI reaches berth's API: the kubeconfig kubectl would use, turned into a URL and TLS/auth options for
// raw HTTPS and WebSocket requests, plus the paths and error texts the commands share.

import type { RequestOptions } from 'node:https';
import { goArchitecture } from '@berth/api/helpers';
import { clientVersion } from './client-version.js';
import { KubeconfigError } from './errors.js';
import { firstReachable } from './failover/server-list.js';
import { currentTarget } from './kubeconfig-load.js';

/** The CLI's name on the wire: the server names the field manager of a write after it, as for kubectl. */
export const cliName = 'berth-cli';

/** `berth-cli/0.1.0 (linux/amd64)`, the shape of kubectl's `kubectl/v1.32.0 (linux/amd64)`. */
export function userAgent(): string {
  return `${cliName}/${clientVersion()} (${process.platform}/${goArchitecture(process.arch)})`;
}

export interface ApiConnection {
  /** The API server's base URL, e.g. https://127.0.0.1:6443. */
  readonly server: URL;
  /** `-n`, else the current context's namespace, else `default`. */
  readonly namespace: string;
  /** TLS material, Authorization and User-Agent headers, and agent for node:https or ws. */
  readonly options: RequestOptions;
}

/**
 * Reads KUBECONFIG (or ~/.kube/config) the way kubectl does and returns how to reach the API: when the cluster lists
 * several servers, the first that accepts a connection.
 */
export async function connectToApi(namespaceFlag: string | undefined): Promise<ApiConnection> {
  const target = currentTarget();
  const chosen = (await firstReachable(target.servers)) ?? target.server;
  let server: URL;
  try {
    server = new URL(chosen);
  } catch {
    throw new KubeconfigError(`the kubeconfig's server "${chosen}" is not a URL`);
  }
  const headers: Record<string, string> = { 'User-Agent': userAgent() };
  if (target.token !== undefined) headers['Authorization'] = `Bearer ${target.token}`;
  if (target.impersonate !== undefined) headers['Impersonate-User'] = target.impersonate;
  const options: RequestOptions = {
    headers,
    ...(target.ca !== undefined ? { ca: target.ca } : {}),
    ...(target.clientCert !== undefined ? { cert: target.clientCert } : {}),
    ...(target.clientKey !== undefined ? { key: target.clientKey } : {}),
    ...(target.tlsServerName !== undefined ? { servername: target.tlsServerName } : {}),
    ...(target.basicAuth !== undefined ? { auth: target.basicAuth } : {}),
    ...(target.insecureSkipTlsVerify ? { rejectUnauthorized: false } : {}),
  };
  return { server, namespace: namespaceFlag ?? target.namespace ?? 'default', options };
}

/** `…/namespaces/NS/containers/NAME/SUBRESOURCE` on the API server. */
export function containerPath(namespace: string, name: string, subresource: string): string {
  return `/apis/berth.dev/v1alpha1/namespaces/${encodeURIComponent(namespace)}/containers/${encodeURIComponent(name)}/${subresource}`;
}
