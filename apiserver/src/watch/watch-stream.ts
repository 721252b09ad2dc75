// Serves one watch: newline-delimited JSON events flushed as they happen, synthetic ADDED events from
// resourceVersion 0, selector transitions, bookmarks when asked, 410 Expired in-stream for compacted history.

import type { ServerResponse } from 'node:http';
import { ApiError, badRequest } from '../errors/api-error.js';
import { toStatus } from '../errors/status.js';
import type { ObjectFilter, SelectorIndex } from '../objects/selectors.js';
import type { KubeObject } from '../objects/object.js';
import { defaultOnRead } from '../objects/object-store.js';
import { withoutManagedFields } from '../http/drop-managed-fields.js';
import { groupVersion, type Resource } from '../registry/resource.js';
import { CompactedError, type StoreEvent, type Watcher } from '../storage/interface.js';
import type { CacheWatcher, WatchTrigger } from '../storage/watch-cache.js';
import { toTable, type IncludeObject } from '../table/table.js';

/** Where watch events come from: the store itself or the watch cache in front of it. */
export interface WatchSource {
  /** `trigger`: only events it can match are needed (the store itself may ignore it and send all). */
  watch(prefix: string, afterRevision: number, trigger?: WatchTrigger): Watcher;
}

export interface WatchRequest {
  readonly resource: Resource;
  readonly prefix: string;
  readonly filter: ObjectFilter | undefined;
  /** A value every object `filter` matches has: the source need only send events whose object had or has it. */
  readonly index?: SelectorIndex | undefined;
  /** `undefined` or 0: start with the current state as ADDED events. */
  readonly resourceVersion: string | undefined;
  readonly initialState: () => Promise<{ items: KubeObject[]; revision: number }>;
  readonly bookmarks: boolean;
  /** How often bookmarks go out when asked for (a real server: about once a minute). */
  readonly bookmarkIntervalMs: number;
  /** Watch-list (`sendInitialEvents=true`): the current state as ADDED events, then a bookmark marking its end. */
  readonly sendInitialEvents: boolean;
  readonly timeoutSeconds: number | undefined;
  readonly table: { include: IncludeObject } | undefined;
  /** The client's Accept said `drop=metadata.managedFields` (KEP-5958). */
  readonly dropManagedFields?: boolean;
  readonly signal: AbortSignal;
  /** What a client sees of each stored object, when the resource is a view of another (Pods of Containers). */
  readonly project?: (stored: KubeObject) => KubeObject;
}

/** Blank-line heartbeat interval: keeps client-node 2.x's 30 s inactivity timeout from cycling idle watches. */
const heartbeatMs = 20_000;
/** Without timeoutSeconds a watch lasts 30-60 minutes, as on a real server. */
const defaultTimeoutMs = () => (30 + Math.random() * 30) * 60_000;

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/**
 * The most recent entries of a memo keyed by store event. Watchers that share an event read it within one dispatch,
 * so only recent events need their decoding kept: a WeakMap kept every decoded object as long as the watch cache's
 * window held its event (65,536 events: hundreds of MB of parsed objects after a bulk load).
 */
class RecentEvents<V> {
  private readonly map = new Map<StoreEvent, V>();
  constructor(private readonly max: number) {}
  get(e: StoreEvent): V | undefined {
    return this.map.get(e);
  }
  set(e: StoreEvent, v: V): void {
    this.map.set(e, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as StoreEvent);
  }
}

/** Decoding and encoding shared by every watcher that sees the same store event (one dispatch is ≤ 1,000 events). */
const decoded = new RecentEvents<{ object: KubeObject; prev: KubeObject | undefined }>(2048);
const encodedLines = new RecentEvents<Map<string, Buffer>>(2048);

function objectsOf(e: StoreEvent): { object: KubeObject; prev: KubeObject | undefined } {
  let d = decoded.get(e);
  if (d === undefined) {
    const prev = e.prevValue === undefined ? undefined : (JSON.parse(e.prevValue) as KubeObject);
    let object: KubeObject;
    if (e.value !== undefined) object = JSON.parse(e.value) as KubeObject;
    else object = { ...prev!, metadata: { ...prev!.metadata, resourceVersion: String(e.revision) } };
    d = { object, prev };
    decoded.set(e, d);
  }
  return d;
}

export async function serveWatch(res: ServerResponse, request: WatchRequest, source: WatchSource): Promise<void> {
  const { resource, filter } = request;
  const servedVersion = groupVersion(resource);
  const sameVersion = resource.version === resource.storageVersion;
  let columnsSent = false;

  const line = (type: string, object: unknown): string => `{"type":"${type}","object":${JSON.stringify(object)}}\n`;
  const present = (stored: KubeObject): unknown => {
    const obj = request.project?.(stored) ?? stored;
    defaultOnRead(resource, obj);
    const o = sameVersion ? obj : { ...obj, apiVersion: servedVersion };
    if (request.table === undefined) return request.dropManagedFields === true ? withoutManagedFields(o) : o;
    const t = toTable(
      resource,
      [o],
      request.table.include,
      { resourceVersion: obj.metadata.resourceVersion ?? '' },
      !columnsSent,
    );
    columnsSent = true;
    return request.dropManagedFields === true ? withoutManagedFields(t) : t;
  };

  let after: number;
  const initial: string[] = [];
  if (
    request.sendInitialEvents ||
    request.resourceVersion === undefined ||
    request.resourceVersion === '' ||
    request.resourceVersion === '0'
  ) {
    const state = await request.initialState();
    for (const obj of state.items) initial.push(line('ADDED', present(obj)));
    after = state.revision;
    if (request.sendInitialEvents) {
      initial.push(
        line('BOOKMARK', {
          kind: resource.kind,
          apiVersion: servedVersion,
          metadata: { resourceVersion: String(after), annotations: { 'k8s.io/initial-events-end': 'true' } },
        }),
      );
    }
  } else {
    if (!/^\d+$/.test(request.resourceVersion))
      throw badRequest(`invalid resource version: ${request.resourceVersion}`);
    after = Number(request.resourceVersion);
  }

  let watcher: Watcher;
  try {
    watcher = source.watch(request.prefix, after, request.index === undefined ? undefined : triggerOf(request.index));
  } catch (e) {
    if (!CompactedError.isInstance(e)) throw e;
    writeHead(res);
    res.end(line('ERROR', toStatus(e)));
    return;
  }

  writeHead(res);
  if (initial.length > 0) res.write(initial.join(''));
  let lastRevision = after;
  const timers: NodeJS.Timeout[] = [];
  const stop = () => watcher.close();
  request.signal.addEventListener('abort', stop, { once: true });
  // Gone while the initial list was read: the abort has fired already and will not fire for the listener above.
  if (request.signal.aborted) stop();
  // setTimeout fires at once past 2^31-1 ms (24.8 days): a huge timeoutSeconds means "very long", not "now".
  const timeoutMs =
    request.timeoutSeconds === undefined ? defaultTimeoutMs() : Math.min(request.timeoutSeconds * 1000, 2 ** 31 - 1);
  timers.push(setTimeout(stop, timeoutMs));
  timers.push(setInterval(() => res.write('\n'), heartbeatMs));
  if (request.bookmarks) {
    timers.push(
      setInterval(() => {
        res.write(
          line('BOOKMARK', {
            kind: resource.kind,
            apiVersion: servedVersion,
            metadata: { resourceVersion: String(Math.max(lastRevision, progressOf(watcher))) },
          }),
        );
      }, request.bookmarkIntervalMs),
    );
  }

  try {
    // One socket write per batch of events: with many watchers, TLS writes are the cost that matters.
    for await (const batch of batchesOf(watcher)) {
      const chunks: Buffer[] = [];
      for (const event of batch) {
        lastRevision = event.revision;
        const out = render(event);
        if (out !== undefined) chunks.push(out);
      }
      if (chunks.length === 0) continue;
      const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      if (!res.write(data)) await drained(res, request.signal);
    }
  } catch (e) {
    if (CompactedError.isInstance(e)) {
      res.write(line('ERROR', toStatus(e)));
    } else if (!request.signal.aborted) {
      // A watch that ends mid-stream says why (a slow watcher, a closed store): the client re-watches either way.
      res.write(line('ERROR', new ApiError('InternalError', (e as Error).message, undefined, { cause: e }).toStatus()));
    }
  } finally {
    for (const t of timers) clearTimeout(t);
    request.signal.removeEventListener('abort', stop);
    watcher.close();
    res.end();
  }

  /** The event's line for this watcher, as bytes; encoded once and shared by every watcher on the fast path. */
  function render(event: StoreEvent): Buffer | undefined {
    // Fast path: no selector, JSON output, same version: the stored bytes go out as they are, encoded once.
    if (
      filter === undefined &&
      request.table === undefined &&
      request.project === undefined &&
      sameVersion &&
      event.value !== undefined
    ) {
      const type: EventType = event.prevValue === undefined ? 'ADDED' : 'MODIFIED';
      let lines = encodedLines.get(event);
      if (lines === undefined) encodedLines.set(event, (lines = new Map()));
      // Without managedFields is a form of its own, cached beside the full one (as kube-apiserver's cachingObject
      // keeps one per serializer), so a thousand dashboards cost one re-encoding per event, not a thousand.
      const drop = request.dropManagedFields === true;
      const key = drop ? `${type} drop` : type;
      let out = lines.get(key);
      if (out === undefined) {
        const object = drop ? JSON.stringify(withoutManagedFields(objectsOf(event).object)) : event.value;
        lines.set(key, (out = Buffer.from(`{"type":"${type}","object":${object}}\n`)));
      }
      return out;
    }
    const text = renderSlow(event);
    return text === undefined ? undefined : Buffer.from(text);
  }

  function renderSlow(event: StoreEvent): string | undefined {
    const { object, prev } = objectsOf(event);
    if (event.type === 'DELETE') {
      if (prev === undefined || (filter !== undefined && !filter(prev))) return undefined;
      return line('DELETED', present(object));
    }
    const nowMatches = filter === undefined || filter(object);
    const prevMatches = prev !== undefined && (filter === undefined || filter(prev));
    if (nowMatches && prevMatches) return line('MODIFIED', present(object));
    if (nowMatches) return line('ADDED', present(object));
    if (prevMatches)
      return line(
        'DELETED',
        present({ ...prev, metadata: { ...prev.metadata, resourceVersion: String(event.revision) } }),
      );
    return undefined;
  }
}

/** The watch cache's trigger for a selector's index: the value of the object after and before each write. */
function triggerOf(index: SelectorIndex): WatchTrigger {
  return {
    name: index.name,
    value: index.value,
    valuesOf: (e) => {
      const { object, prev } = objectsOf(e);
      return [e.value === undefined ? undefined : index.of(object), prev === undefined ? undefined : index.of(prev)];
    },
  };
}

/** How far the source has handed this watcher every event it selects (the watch cache knows; a store watch not). */
function progressOf(watcher: Watcher): number {
  const cached = watcher as Partial<Pick<CacheWatcher, 'progressRevision'>>;
  return typeof cached.progressRevision === 'function' ? cached.progressRevision() : 0;
}

/** Events in the batches the source hands out (the watch cache), or one at a time (a plain store watch). */
async function* batchesOf(watcher: Watcher): AsyncIterable<readonly StoreEvent[]> {
  const batched = watcher as Partial<Pick<CacheWatcher, 'batches'>>;
  if (typeof batched.batches === 'function') {
    yield* batched.batches();
    return;
  }
  for await (const event of watcher.events) yield [event];
}

function writeHead(res: ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
}

function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.on('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
