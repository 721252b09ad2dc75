// Backups of a store, and restoring one: every key and value at one revision (one consistent list), as JSON lines
// after a header; values stay as the store holds them, so Secrets stay sealed in the file. A restore writes that
// state back through the Store contract (level or etcd alike, an empty store or a live one): keys the backup lacks
// are deleted, changed ones written again. Their new revisions are above every earlier one, so watches and
// informers see the restore as ordinary events and resume, instead of a store whose revision went back in time
// (what restoring an etcd 3.4 snapshot does). The same copy moves an embedded store to etcd (`berth migrate`).

import { createReadStream, createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { BerthError } from '@berth/api';
import type { EncryptionConfig } from '../encryption/encryption-config.js';
import { EncryptingStore } from '../encryption/encrypting-store.js';
import type { Store, StoredValue } from './interface.js';

export interface BackupHeader {
  readonly kind: 'BerthBackup';
  readonly version: 1;
  /** The store's revision the backup is the state at. */
  readonly revision: number;
  readonly keys: number;
  readonly createdAt: string;
}

export interface BackupItem {
  readonly key: string;
  readonly value: string;
}

export class BackupFileError extends BerthError<'BERTH_BACKUP_INVALID'> {
  constructor(message: string, cause?: unknown) {
    super('BERTH_BACKUP_INVALID', message, cause === undefined ? undefined : { cause });
  }
}

/** Writes every key of `store` at one revision to `file` (atomically: a partial file never has the name). */
export async function writeBackup(store: Store, file: string): Promise<BackupHeader> {
  const { items, revision } = await store.list({ prefix: '' });
  const header: BackupHeader = {
    kind: 'BerthBackup',
    version: 1,
    revision,
    keys: items.length,
    createdAt: new Date().toISOString(),
  };
  const tmp = `${file}.tmp-${process.pid}`;
  const out = createWriteStream(tmp, { mode: 0o600 });
  const write = async (line: string) => {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };
  await write(JSON.stringify(header));
  for (const item of items) await write(JSON.stringify({ key: item.key, value: item.value }));
  out.end();
  await once(out, 'finish');
  await rename(tmp, file);
  return header;
}

export async function readBackup(file: string): Promise<{ header: BackupHeader; items: BackupItem[] }> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let header: BackupHeader | undefined;
  const items: BackupItem[] = [];
  for await (const line of lines) {
    if (line === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (e) {
      throw new BackupFileError(`${file} is not a berth backup (line ${items.length + 1} is not JSON)`, e);
    }
    if (header === undefined) {
      const h = parsed as Partial<BackupHeader>;
      if (h.kind !== 'BerthBackup' || h.version !== 1) throw new BackupFileError(`${file} is not a berth backup`);
      header = h as BackupHeader;
      continue;
    }
    const item = parsed as Partial<BackupItem>;
    if (typeof item.key !== 'string' || typeof item.value !== 'string')
      throw new BackupFileError(`${file}: entry ${items.length + 1} has no key and value`);
    items.push({ key: item.key, value: item.value });
  }
  if (header === undefined) throw new BackupFileError(`${file} is empty`);
  if (items.length !== header.keys)
    throw new BackupFileError(`${file} is cut short: ${items.length} of ${header.keys} entries`);
  return { header, items };
}

/** An object's JSON without its resourceVersion (what a restore compares), or the text itself if not an object. */
function identity(value: string): string {
  try {
    const obj = JSON.parse(value) as { metadata?: { resourceVersion?: string } };
    if (typeof obj !== 'object' || obj === null || typeof obj.metadata !== 'object') return value;
    const { resourceVersion: _rv, ...metadata } = obj.metadata;
    return JSON.stringify({ ...obj, metadata });
  } catch {
    return value;
  }
}

/** `value` with the resourceVersion of the write that stores it (objects carry their own, the store writes it). */
function atRevision(value: string): (revision: number) => string {
  let obj: { metadata?: Record<string, unknown> } | undefined;
  try {
    const parsed = JSON.parse(value) as unknown;
    if (typeof parsed === 'object' && parsed !== null && typeof (parsed as typeof obj)?.metadata === 'object')
      obj = parsed as typeof obj;
  } catch {
    // not an object: stored as it is
  }
  if (obj === undefined) return () => value;
  const o = obj;
  return (revision) => JSON.stringify({ ...o, metadata: { ...o.metadata, resourceVersion: String(revision) } });
}

export interface RestoreResult {
  readonly written: number;
  readonly deleted: number;
  readonly unchanged: number;
}

/**
 * Makes `store` hold what `items` hold: the API's keys (`/registry/…`) the backup lacks are deleted, the others
 * written where they differ. `encryption` opens and seals Secrets (the config of the servers that wrote them).
 */
export async function restoreBackup(
  store: Store,
  items: readonly BackupItem[],
  encryption: EncryptionConfig | undefined,
): Promise<RestoreResult> {
  const sealing = encryption === undefined ? undefined : new EncryptingStore(store, encryption);
  const target: Store = sealing ?? store;
  const open = (key: string, value: string) => sealing?.openValue(key, value) ?? value;
  const wanted = new Map(items.map((i) => [i.key, open(i.key, i.value)]));
  const current = new Map<string, StoredValue>();
  for (const item of (await target.list({ prefix: '' })).items) current.set(item.key, item);
  let written = 0;
  let deleted = 0;
  let unchanged = 0;
  for (const [key, stored] of current) {
    if (wanted.has(key) || !key.startsWith('/registry/')) continue;
    const result = await target.delete(key, stored.modRevision);
    if (result.ok) deleted++;
  }
  for (const [key, value] of wanted) {
    const now = current.get(key);
    if (now !== undefined && identity(now.value) === identity(value)) {
      unchanged++;
      continue;
    }
    const render = atRevision(value);
    let result =
      now === undefined ? await target.create(key, render) : await target.update(key, now.modRevision, render);
    // Written meanwhile (a live store): the backup's state wins.
    for (let tries = 0; !result.ok && tries < 5; tries++) {
      const again = await target.get(key);
      result =
        again === undefined ? await target.create(key, render) : await target.update(key, again.modRevision, render);
    }
    if (!result.ok) throw new BackupFileError(`could not restore ${key}: ${result.reason}`);
    written++;
  }
  return { written, deleted, unchanged };
}
