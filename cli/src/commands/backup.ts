// `berth backup FILE`, `berth restore FILE` and `berth migrate --to etcd://…`: the store's state at one revision to a
// file and back, for the embedded store (which must not be open: stop `berth up` first) and for etcd (live: the API
// servers see the restore as ordinary writes). Secrets stay sealed in the file; a restore opens and seals them
// with the data dir's encryption config, the one the servers use. Migrating copies an embedded store into etcd, for
// `berth up --store etcd://… --data-dir` (the same data dir: its PKI and keys) to serve.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  EtcdStore,
  encryptionConfigFile,
  parseEncryptionConfig,
  readBackup,
  restoreBackup,
  writeBackup,
  type EncryptionConfig,
  type Store,
} from '@berth/apiserver';
import { UpError } from '../errors.js';
import { openStore, type UpOptions } from './up.js';

export type StoreOptions = Pick<UpOptions, 'store' | 'etcdCafile' | 'etcdCertfile' | 'etcdKeyfile'> & {
  readonly dataDir: string;
};

/** `existing`: an embedded store that is not there is an error, not a new empty one. */
async function withStore<T>(options: StoreOptions, use: (store: Store) => Promise<T>, existing = true): Promise<T> {
  const dataDir = resolve(options.dataDir);
  const embedded = (options.store ?? 'embedded') === 'embedded';
  if (embedded && existing && !existsSync(join(dataDir, 'store')))
    throw new UpError(`no embedded store in ${dataDir} (--data-dir names berth's data dir)`);
  let store: Store;
  try {
    store = await openStore(dataDir, options);
  } catch (e) {
    const inUse = embedded && /lock/i.test(String((e as { cause?: unknown }).cause ?? (e as Error).message));
    if (inUse) throw new UpError(`the embedded store in ${join(dataDir, 'store')} is in use: stop berth up first`, e);
    throw e;
  }
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

async function encryptionOf(dataDir: string): Promise<EncryptionConfig | undefined> {
  const file = encryptionConfigFile(resolve(dataDir));
  return existsSync(file) ? parseEncryptionConfig(await readFile(file, 'utf8')) : undefined;
}

export async function backup(
  file: string,
  options: StoreOptions & { readonly etcdSnapshot?: boolean },
): Promise<string> {
  if (options.etcdSnapshot === true) {
    await withStore(options, async (store) => {
      if (!(store instanceof EtcdStore)) throw new UpError('--etcd-snapshot needs --store etcd://…');
      await store.snapshot(resolve(file));
    });
    return `berth backup: etcd's snapshot to ${file} (etcdctl snapshot restore brings it back)\n`;
  }
  const header = await withStore(options, (store) => writeBackup(store, resolve(file)));
  return `berth backup: ${header.keys} keys at revision ${header.revision} to ${file}\n`;
}

export async function restore(file: string, options: StoreOptions): Promise<string> {
  const start = await readFile(resolve(file)).then((b) => b.subarray(0, 1).toString());
  if (start !== '{')
    throw new UpError(
      `${file} is not a berth backup; an etcd snapshot (berth backup --etcd-snapshot) is restored by etcd's tools: ` +
        "`ETCDCTL_API=3 etcdctl snapshot restore FILE --data-dir DIR` with the member's --name and --initial-cluster, " +
        "etcd started on DIR, then the API servers restarted (its revisions are the snapshot's: clients relist)",
    );
  const { header, items } = await readBackup(resolve(file));
  const encryption = await encryptionOf(options.dataDir);
  // A restore may make the embedded store anew (a new machine, an emptied data dir).
  const result = await withStore(options, (store) => restoreBackup(store, items, encryption), false);
  return (
    `berth restore: the state at revision ${header.revision} (${header.createdAt}): ${result.written} written, ` +
    `${result.deleted} deleted, ${result.unchanged} unchanged\n`
  );
}

export async function migrate(options: StoreOptions & { readonly to: string }): Promise<string> {
  if (!options.to.startsWith('etcd://'))
    throw new UpError(`--to must be etcd://host:port[/prefix/], got "${options.to}"`);
  const items = await withStore(
    { dataDir: options.dataDir },
    async (level) => (await level.list({ prefix: '' })).items,
  );
  const encryption = await encryptionOf(options.dataDir);
  const result = await withStore({ ...options, store: options.to }, async (etcd) => {
    // Never over another cluster: a restore deletes what the source lacks.
    if ((await etcd.list({ prefix: '/registry/', limit: 1 })).items.length > 0)
      throw new UpError(`${options.to} already holds a cluster: migrate into an empty etcd or key prefix`);
    return restoreBackup(etcd, items, encryption);
  });
  return (
    `berth migrate: ${items.length} keys copied to ${options.to} (${result.written} written, ${result.deleted} ` +
    `deleted); start berth up --data-dir ${options.dataDir} --store ${options.to}\n`
  );
}
