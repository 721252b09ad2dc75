// Where the etcd store connects: `etcd://host:port[,host:port…][/prefix/]` as `berth up --store` takes it,
// with optional TLS (a CA, and a client certificate and key) read from PEM files.

import { readFile } from 'node:fs/promises';
import { InvalidArgumentError } from '@berth/api';

export interface EtcdTls {
  /** PEM of the CA that signed the etcd members' serving certificates. */
  readonly ca: string;
  /** PEM of this client's certificate, for etcd's --client-cert-auth. */
  readonly cert?: string;
  /** PEM of its private key. */
  readonly key?: string;
}

export interface EtcdEndpoints {
  /** `host:port` of each member. */
  readonly endpoints: readonly string[];
  /** Key prefix ('' or ending with '/'). */
  readonly prefix: string;
}

/** Parses `etcd://h1:2379,h2:2379/optional/prefix/`. */
export function parseEtcdUrl(url: string): EtcdEndpoints {
  const m = /^etcd:\/\/([^/]+)(\/.*)?$/.exec(url);
  if (m === null) throw new InvalidArgumentError(`store URL must look like etcd://host:port[,host:port…], got ${url}`);
  const endpoints = (m[1] as string).split(',');
  for (const e of endpoints) {
    const port = /^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(e);
    if (port === null || Number(port[1]) < 1 || Number(port[1]) > 65535) {
      throw new InvalidArgumentError(`etcd endpoint must be host:port, got ${JSON.stringify(e)} in ${url}`);
    }
  }
  const path = m[2] ?? '';
  const prefix = path === '' || path === '/' ? '' : path.endsWith('/') ? path : `${path}/`;
  return { endpoints, prefix };
}

/** TLS from files as kube-apiserver's --etcd-cafile, --etcd-certfile and --etcd-keyfile give them. */
export async function readEtcdTls(files: {
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}): Promise<EtcdTls | undefined> {
  const { caFile, certFile, keyFile } = files;
  if (caFile === undefined) {
    if (certFile !== undefined || keyFile !== undefined) {
      throw new InvalidArgumentError('an etcd client certificate needs the CA too (--etcd-cafile)');
    }
    return undefined;
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new InvalidArgumentError('--etcd-certfile and --etcd-keyfile go together');
  }
  const ca = await readFile(caFile, 'utf8');
  if (certFile === undefined || keyFile === undefined) return { ca };
  return { ca, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}
