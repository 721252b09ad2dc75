// The Store contract on etcd: resourceVersion is etcd's mod revision, preconditions are transactions, watches
// are etcd watches from a revision, and compaction is etcd's, so several API servers can share one cluster.

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { circuitBreaker, ConsecutiveBreaker, handleWhen } from 'cockatiel';
// Types only: etcd3 (gRPC, protobufjs, ~18 MB of memory) is loaded when a store on etcd is opened, not by every
// process that imports the API server.
import type { Etcd3, IKeyValue, IResponseHeader, ITxnRequest, ITxnResponse } from 'etcd3';
import { checkInteger, InvalidArgumentError } from '@berth/api';
import {
  CompactedError,
  StoreClosedError,
  type ListOptions,
  type ListResult,
  type Store,
  type StoredValue,
  type Watcher,
  type WriteResult,
} from '../interface.js';
import type { EtcdTls } from './etcd-connection.js';
import { EtcdRequestError, isCompactedResponse, isFutureRevisionResponse } from './etcd-errors.js';
import { EtcdWatcher, type WatchHooks } from './etcd-watcher.js';
import { KeySpace } from './keys.js';
import { decodeValue, encodeValue } from './value-codec.js';

export interface EtcdStoreOptions {
  /** `host:port` of each etcd member. */
  readonly endpoints: readonly string[];
  /** Prepended to every key: '' (keys are `/registry/…`, as Kubernetes lays them out) or ending with '/'. */
  readonly prefix?: string;
  /** TLS to etcd (https); without it the connection is plain gRPC. */
  readonly tls?: EtcdTls;
  /** Most unread events a watcher may have before it is ended with WatchTooSlowError. @default 100_000 */
  readonly watchBufferLimit?: number;
  /**
   * Compact etcd's history every this many ms, to the revision of the previous round (kube-apiserver's
   * --etcd-compaction-interval); `false` leaves compaction to `compact()` or to etcd. @default 300_000
   */
  readonly compactionIntervalMs?: number | false;
  /** Deadline of each request (not of watches). @default 10_000 */
  readonly requestTimeoutMs?: number;
}

/** Known mod revisions of recently read or written keys, so an update that will pass needs no extra read. */
const knownLimit = 10_000;

export class EtcdStore implements Store {
  readonly backend = 'etcd';
  readonly shared = true;
  private readonly watchers = new Set<EtcdWatcher>();
  private readonly known = new Map<string, number>();
  private readonly watchBufferLimit: number;
  private rev: number;
  private compacted: number;
  private closing = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRound: number;

  private constructor(
    private readonly client: Etcd3,
    private readonly keys: KeySpace,
    revision: number,
    compacted: number,
    options: EtcdStoreOptions,
  ) {
    this.rev = revision;
    this.compacted = compacted;
    this.lastRound = revision;
    this.watchBufferLimit = options.watchBufferLimit ?? 100_000;
    const interval = options.compactionIntervalMs ?? 300_000;
    if (interval !== false) {
      this.timer = setInterval(() => this.compactRound(), interval);
      this.timer.unref();
    }
  }

  /** Connects to etcd and reads its revision and how far it has compacted. */
  static async open(options: EtcdStoreOptions): Promise<EtcdStore> {
    if (options.endpoints.length === 0) throw new InvalidArgumentError('EtcdStore needs at least one endpoint');
    checkInteger('EtcdStore', 'watchBufferLimit', options.watchBufferLimit, 1);
    checkInteger('EtcdStore', 'requestTimeoutMs', options.requestTimeoutMs, 1);
    if (options.compactionIntervalMs !== false) {
      checkInteger('EtcdStore', 'compactionIntervalMs', options.compactionIntervalMs, 1);
    }
    const keys = new KeySpace(options.prefix ?? '');
    const timeout = options.requestTimeoutMs ?? 10_000;
    const { tls } = options;
    const { Etcd3, isRecoverableError } = await import('etcd3');
    const client = new Etcd3({
      hosts: options.endpoints.map((e) => `${tls ? 'https' : 'http'}://${e}`),
      ...(tls
        ? {
            credentials: {
              rootCertificate: Buffer.from(tls.ca),
              ...(tls.key === undefined ? {} : { privateKey: Buffer.from(tls.key) }),
              ...(tls.cert === undefined ? {} : { certChain: Buffer.from(tls.cert) }),
            },
          }
        : {}),
      dialTimeout: timeout,
      // gRPC's default 4 MiB cap on a received message would fail a list page (or a watch response) of large
      // objects; etcd bounds each request's objects (--max-request-bytes), the pages bound their count.
      grpcOptions: { 'grpc.max_receive_message_length': -1 },
      // etcd3's default breaker shuts a member out for 5 s after 3 failures; with one member that is 5 s of
      // outage after every etcd restart. Half a second still spares a dead member most requests.
      faultHandling: {
        host: () =>
          circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 500, breaker: new ConsecutiveBreaker(3) }),
      },
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeout }),
    });
    try {
      const head = await client.kv.range({ ...keys.range(''), count_only: true });
      const revision = Number(head.header.revision);
      return new EtcdStore(client, keys, revision, await findCompacted(client, revision), options);
    } catch (e) {
      client.close();
      throw new EtcdRequestError(`at ${options.endpoints.join(',')} did not answer`, e);
    }
  }

  revision(): number {
    return this.rev;
  }

  compactedRevision(): number {
    return this.compacted;
  }

  async get(key: string): Promise<StoredValue | undefined> {
    this.assertOpen();
    const res = await this.request('get', () => this.client.kv.range({ key: this.keys.toEtcd(key) }));
    this.observe(res.header);
    const kv = res.kvs[0];
    if (kv === undefined) {
      this.known.delete(key);
      return undefined;
    }
    const value = this.toStored(kv);
    this.remember(key, value.modRevision);
    return value;
  }

  async list(options: ListOptions): Promise<ListResult> {
    this.assertOpen();
    const limit = options.limit ?? 0;
    if (!Number.isSafeInteger(limit) || limit < 0)
      throw new InvalidArgumentError(`list limit must be a non-negative integer, got ${limit}`);
    for (;;) {
      try {
        return await this.listOnce(options, limit);
      } catch (e) {
        // A compaction overtook the pages read at the list's revision: read the list again, at a newer one.
        if (!isCompactedResponse(e) && !isCompactedResponse((e as { cause?: unknown }).cause)) throw e;
      }
    }
  }

  private async listOnce(options: ListOptions, limit: number): Promise<ListResult> {
    const { prefix, startAfter, filter } = options;
    const end = this.keys.range(prefix).range_end;
    let from =
      startAfter !== undefined && startAfter >= prefix
        ? this.keys.rangeAfter(prefix, startAfter).key
        : this.keys.range(prefix).key;
    // The first page fixes the revision; the later ones read at it, so the list is one consistent state.
    let revision: number | undefined;
    const items: StoredValue[] = [];
    for (;;) {
      const chunk = limit > 0 && !filter ? limit - items.length + 1 : 1000;
      const at = revision;
      const res = await this.request('list', () =>
        this.client.kv.range({
          key: from,
          range_end: end,
          limit: chunk,
          ...(at === undefined ? {} : { revision: at }),
        }),
      );
      revision ??= this.observe(res.header);
      for (const kv of res.kvs) {
        if (limit > 0 && items.length === limit) {
          return { items, revision, next: (items[items.length - 1] as StoredValue).key };
        }
        const item = this.toStored(kv);
        if (filter === undefined || filter(item)) items.push(item);
      }
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || last === undefined) return { items, revision };
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  async create(key: string, render: (revision: number) => string): Promise<WriteResult> {
    this.assertOpen();
    // Read first, so a create that will fail does not render (the level store's promise, kept here).
    const existing = await this.get(key);
    if (existing !== undefined) return { ok: false, reason: 'exists', current: existing };
    const k = this.keys.toEtcd(key);
    const value = Buffer.from(encodeValue(render), 'utf8');
    const res = await this.txn('create', {
      compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_put: { key: k, value } }],
      failure: [{ request_range: { key: k } }],
    });
    const revision = this.observe(res.header);
    if (res.succeeded) {
      this.remember(key, revision);
      return { ok: true, revision };
    }
    const current = this.currentOf(res);
    return current === undefined ? { ok: false, reason: 'exists' } : { ok: false, reason: 'exists', current };
  }

  async update(key: string, expectedRevision: number, render: (revision: number) => string): Promise<WriteResult> {
    this.assertOpen();
    if (this.known.get(key) !== expectedRevision) {
      // Not what this store last saw: check before rendering, as for create.
      const current = await this.get(key);
      if (current === undefined) return { ok: false, reason: 'not-found' };
      if (current.modRevision !== expectedRevision) return { ok: false, reason: 'conflict', current };
    }
    const k = this.keys.toEtcd(key);
    const value = Buffer.from(encodeValue(render), 'utf8');
    const res = await this.txn('update', {
      compare: [{ key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRevision }],
      success: [{ request_put: { key: k, value } }],
      failure: [{ request_range: { key: k } }],
    });
    return this.outcome(key, res);
  }

  async delete(key: string, expectedRevision?: number): Promise<WriteResult> {
    this.assertOpen();
    const k = this.keys.toEtcd(key);
    const res = await this.txn('delete', {
      compare: [
        expectedRevision === undefined
          ? { key: k, target: 'Create', result: 'Greater', create_revision: 0 }
          : { key: k, target: 'Mod', result: 'Equal', mod_revision: expectedRevision },
      ],
      success: [{ request_delete_range: { key: k } }],
      failure: [{ request_range: { key: k } }],
    });
    const result = this.outcome(key, res);
    if (result.ok) this.known.delete(key);
    return result;
  }

  watch(prefix: string, afterRevision: number): Watcher {
    this.assertOpen();
    if (afterRevision < this.compacted) throw new CompactedError(afterRevision, this.compacted);
    const hooks: WatchHooks = {
      observe: (revision) => {
        if (revision > this.rev) this.rev = revision;
      },
      compacted: (revision) => {
        if (revision > this.compacted) this.compacted = revision;
      },
      ended: (w) => this.watchers.delete(w),
    };
    const watcher = new EtcdWatcher(
      this.client.watchClient,
      this.keys,
      prefix,
      afterRevision,
      this.watchBufferLimit,
      hooks,
    );
    this.watchers.add(watcher);
    return watcher;
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    if (!Number.isSafeInteger(revision) || revision < 0) throw new InvalidArgumentError(`invalid revision ${revision}`);
    if (revision <= this.compacted) return;
    if (revision > this.rev) {
      throw new InvalidArgumentError(`cannot compact revision ${revision}: the store is at ${this.rev}`);
    }
    // Refuse watches from below `revision` at once, as the level store does.
    this.compacted = revision;
    try {
      await this.client.kv.compact({ revision, physical: true });
    } catch (e) {
      if (isCompactedResponse(e)) return; // another server compacted as far or further
      if (isFutureRevisionResponse(e)) {
        throw new InvalidArgumentError(`cannot compact revision ${revision}: etcd is not there yet`);
      }
      throw new EtcdRequestError('compact', e);
    }
  }

  /**
   * etcd's own snapshot of the whole member (every prefix), as `etcdctl snapshot save` writes it: restored with
   * `etcdctl snapshot restore` into a new data dir. Written under a temp name, renamed once complete.
   */
  async snapshot(file: string): Promise<void> {
    this.assertOpen();
    const tmp = `${file}.tmp-${process.pid}`;
    const out = createWriteStream(tmp, { mode: 0o600 });
    const stream = await this.client.maintenance.snapshot();
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk) => out.write(chunk.blob));
      stream.on('error', (e) => reject(new EtcdRequestError('snapshot', e)));
      stream.on('end', () => resolve());
    });
    out.end();
    await once(out, 'finish');
    await rename(tmp, file);
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      clearInterval(this.timer);
      for (const w of [...this.watchers]) w.close();
      this.client.close();
    }
    return Promise.resolve();
  }

  /** kube-apiserver's compactor: each round compacts to the revision the previous round saw. */
  private compactRound(): void {
    if (this.closing) return;
    const target = this.lastRound;
    this.lastRound = this.rev;
    if (target > this.compacted) this.compact(target).catch(() => undefined); // retried next round
  }

  private assertOpen(): void {
    if (this.closing) throw new StoreClosedError();
  }

  private async request<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (this.closing) throw new StoreClosedError();
      throw new EtcdRequestError(what, e);
    }
  }

  private txn(what: string, req: ITxnRequest): Promise<ITxnResponse> {
    return this.request(what, () => this.client.kv.txn(req));
  }

  /** The result of a conditional update or delete: failed because the key is gone, or moved on. */
  private outcome(key: string, res: ITxnResponse): WriteResult {
    const revision = this.observe(res.header);
    if (res.succeeded) {
      this.remember(key, revision);
      return { ok: true, revision };
    }
    const current = this.currentOf(res);
    if (current === undefined) {
      this.known.delete(key);
      return { ok: false, reason: 'not-found' };
    }
    this.remember(key, current.modRevision);
    return { ok: false, reason: 'conflict', current };
  }

  private currentOf(res: ITxnResponse): StoredValue | undefined {
    const kv = res.responses[0]?.response_range?.kvs[0];
    return kv === undefined ? undefined : this.toStored(kv);
  }

  private toStored(kv: IKeyValue): StoredValue {
    const modRevision = Number(kv.mod_revision);
    return {
      key: this.keys.fromEtcd(kv.key),
      value: decodeValue(kv.value.toString('utf8'), modRevision),
      modRevision,
      createRevision: Number(kv.create_revision),
    };
  }

  private observe(header: IResponseHeader): number {
    const revision = Number(header.revision);
    if (revision > this.rev) this.rev = revision;
    return revision;
  }

  private remember(key: string, modRevision: number): void {
    this.known.delete(key);
    this.known.set(key, modRevision);
    if (this.known.size > knownLimit) {
      const oldest = this.known.keys().next();
      if (!oldest.done) this.known.delete(oldest.value);
    }
  }
}

/**
 * etcd does not say how far it has compacted; a read at a revision below the mark fails, so search for the
 * lowest revision that still reads (0 when nothing was ever compacted).
 */
async function findCompacted(client: Etcd3, revision: number): Promise<number> {
  const readable = async (at: number): Promise<boolean> => {
    try {
      await client.kv.range({ key: Buffer.from([0]), range_end: Buffer.from([0]), count_only: true, revision: at });
      return true;
    } catch (e) {
      if (isCompactedResponse(e)) return false;
      throw e;
    }
  };
  if (revision <= 1 || (await readable(1))) return 0;
  let lo = 1; // not readable
  let hi = revision; // readable
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await readable(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
