// What berth's two kubeconfig readers share: a file's YAML, read with a one-line error, and a context's cluster and
// user entries turned into the server, TLS material and credentials they name. Which files are merged and which
// context is current stays with each reader: the CLI merges $KUBECONFIG's files as kubectl does, a controller or
// an agent reads the one file it is given.
//
// js-yaml, as @kubernetes/client-node reads kubeconfigs: one module, where yaml's 70 files were a fifth of a CLI start.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { load as parseYaml } from 'js-yaml';

export type KubeconfigEntry = Record<string, unknown>;

/** An entry of a kubeconfig with the folder of its file: relative paths in it are relative to that folder. */
export interface LocatedEntry {
  readonly entry: KubeconfigEntry;
  readonly dir: string;
}

/** How a reader reports a bad kubeconfig: in its own error family, with the cause kept. */
export type KubeconfigFailure = (message: string, cause: unknown) => Error;

/** A cluster and a user as a connection needs them; files named are read, relative to their kubeconfig. */
export interface KubeconfigConnection {
  readonly server: string | undefined;
  /** The CA, from `certificate-authority-data` or the file `certificate-authority` names. */
  readonly ca: Buffer | undefined;
  /** `certificate-authority-data` as written (base64 PEM), and the file `certificate-authority`, absolute. */
  readonly caData: string | undefined;
  readonly caFile: string | undefined;
  readonly insecureSkipTlsVerify: boolean;
  readonly tlsServerName: string | undefined;
  readonly token: string | undefined;
  readonly clientCert: Buffer | undefined;
  readonly clientKey: Buffer | undefined;
  /** `username:password`, for basic authentication. */
  readonly basicAuth: string | undefined;
  /** The user's `as`: the Impersonate-User header. */
  readonly impersonate: string | undefined;
  /** The user's credentials come from a plugin (exec or auth-provider), which these fields do not cover. */
  readonly usesPlugin: boolean;
}

/** A non-empty string field of an entry. */
export const entryText = (e: KubeconfigEntry | undefined, key: string): string | undefined => {
  const v = e?.[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

/** The kubeconfig at `path`, parsed (an empty file is an empty document); undefined when there is no such file. */
export function readKubeconfigYaml(path: string, fail: KubeconfigFailure): KubeconfigEntry | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fail(`cannot read kubeconfig ${path}: ${(e as Error).message}`, e);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw fail(`cannot read kubeconfig ${path}: ${(e as Error).message.split('\n')[0] ?? ''}`, e);
  }
  return typeof doc === 'object' && doc !== null ? (doc as KubeconfigEntry) : {};
}

/** The kubeconfig at `path`, parsed; a missing file is a failure too (one named file, not a search list). */
export function readKubeconfigFile(path: string, fail: KubeconfigFailure): KubeconfigEntry {
  const doc = readKubeconfigYaml(path, fail);
  if (doc === undefined) throw fail(`cannot read kubeconfig ${path}: no such file`, undefined);
  return doc;
}

/** The entry named `name` in one of a kubeconfig's named lists (`clusters`, `users`, `contexts`). */
export function namedEntry(list: unknown, name: unknown, key: string): KubeconfigEntry | undefined {
  if (!Array.isArray(list) || typeof name !== 'string') return undefined;
  const found = (list as unknown[]).find((e) => (e as KubeconfigEntry | null)?.['name'] === name) as
    | KubeconfigEntry
    | undefined;
  const entry = found?.[key];
  return typeof entry === 'object' && entry !== null ? (entry as KubeconfigEntry) : undefined;
}

/** The server, TLS material and credentials of a cluster entry and a user entry (either may be missing). */
export function connectionOf(
  cluster: LocatedEntry | undefined,
  user: LocatedEntry | undefined,
  fail: KubeconfigFailure,
): KubeconfigConnection {
  const inDir = (dir: string, file: string) => (isAbsolute(file) ? file : join(dir, file));
  const read = (dir: string, file: string, key: string): Buffer => {
    const path = inDir(dir, file);
    try {
      return readFileSync(path);
    } catch (e) {
      throw fail(`the kubeconfig names ${key} ${path}, which cannot be read: ${(e as Error).message}`, e);
    }
  };
  /** `KEY-data` (base64) or the file `KEY` names. */
  const material = (at: LocatedEntry | undefined, key: string): Buffer | undefined => {
    const data = entryText(at?.entry, `${key}-data`);
    if (data !== undefined) return Buffer.from(data, 'base64');
    const file = entryText(at?.entry, key);
    return file === undefined || at === undefined ? undefined : read(at.dir, file, key);
  };
  const c = cluster?.entry;
  const u = user?.entry;
  const caFile = entryText(c, 'certificate-authority');
  const tokenFile = entryText(u, 'tokenFile') ?? entryText(u, 'token-file');
  const token =
    entryText(u, 'token') ??
    (tokenFile === undefined || user === undefined ? undefined : read(user.dir, tokenFile, 'tokenFile').toString());
  const username = entryText(u, 'username');
  return {
    server: entryText(c, 'server'),
    ca: material(cluster, 'certificate-authority'),
    caData: entryText(c, 'certificate-authority-data'),
    caFile: caFile === undefined || cluster === undefined ? undefined : inDir(cluster.dir, caFile),
    insecureSkipTlsVerify: c?.['insecure-skip-tls-verify'] === true,
    tlsServerName: entryText(c, 'tls-server-name'),
    token: token?.trim(),
    clientCert: material(user, 'client-certificate'),
    clientKey: material(user, 'client-key'),
    basicAuth: username === undefined ? undefined : `${username}:${entryText(u, 'password') ?? ''}`,
    impersonate: entryText(u, 'as'),
    usesPlugin: u?.['exec'] !== undefined || u?.['auth-provider'] !== undefined,
  };
}
