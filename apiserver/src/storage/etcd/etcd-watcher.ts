// One Store watch on etcd: its own gRPC watch stream from a revision, events decoded into StoreEvents, and a
// resume from the last revision received whenever the stream breaks (etcd restarted, a member died).

import type { IDuplexStream, IEvent, IWatchRequest, IWatchResponse, WatchClient } from 'etcd3';
import { CompactedError, WatchTooSlowError, type StoreEvent, type Watcher } from '../interface.js';
import { EtcdRequestError } from './etcd-errors.js';
import type { KeySpace } from './keys.js';
import { decodeValue } from './value-codec.js';

/** What a watcher tells its store about the cluster as it reads. */
export interface WatchHooks {
  /** etcd's current revision, from a response header. */
  observe(revision: number): void;
  /** etcd dropped history before `revision`. */
  compacted(revision: number): void;
  /** The watcher ended (closed or failed). */
  ended(watcher: EtcdWatcher): void;
}

const maxBackoffMs = 2000;

export class EtcdWatcher implements Watcher {
  readonly events: AsyncIterable<StoreEvent>;
  private buffer: StoreEvent[] = [];
  private head = 0;
  private wake: (() => void) | undefined;
  private ended = false;
  private error: Error | undefined;
  private iterated = false;
  /** Revision of the newest event received: a new stream starts after it. */
  private received: number;
  private stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined;
  private failures = 0;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: WatchClient,
    private readonly keys: KeySpace,
    private readonly prefix: string,
    afterRevision: number,
    private readonly limit: number,
    private readonly hooks: WatchHooks,
  ) {
    this.received = afterRevision;
    this.events = { [Symbol.asyncIterator]: () => this.iterate() };
    void this.connect();
  }

  close(): void {
    this.end(undefined);
  }

  end(error: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.buffer = [];
    this.head = 0;
    clearTimeout(this.retry);
    const stream = this.stream;
    this.stream = undefined;
    if (stream) hangUp(stream);
    this.hooks.ended(this);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async connect(): Promise<void> {
    let stream: IDuplexStream<IWatchRequest, IWatchResponse>;
    try {
      stream = await this.client.watch();
    } catch {
      // etcd is unreachable: retry as for a broken stream.
      this.broken(undefined);
      return;
    }
    if (this.ended) {
      hangUp(stream);
      return;
    }
    this.stream = stream;
    stream.on('data', (res) => this.onResponse(stream, res));
    stream.on('error', () => this.broken(stream));
    stream.on('end', () => this.broken(stream));
    stream.write({
      create_request: {
        ...this.keys.range(this.prefix),
        start_revision: this.received + 1,
        prev_kv: true,
        progress_notify: true,
      },
    });
  }

  /** The stream failed: try again from the last revision received, backing off while etcd stays away. */
  private broken(stream: IDuplexStream<IWatchRequest, IWatchResponse> | undefined): void {
    if (this.ended || stream !== this.stream) return;
    this.stream = undefined;
    stream?.cancel();
    const delay = Math.min(maxBackoffMs, 25 * 2 ** this.failures);
    this.failures++;
    this.retry = setTimeout(() => void this.connect(), delay);
  }

  private onResponse(stream: IDuplexStream<IWatchRequest, IWatchResponse>, res: IWatchResponse): void {
    if (this.ended || stream !== this.stream) return;
    const compactRevision = Number(res.compact_revision);
    if (compactRevision > 0) {
      this.hooks.compacted(compactRevision);
      this.end(new CompactedError(this.received, compactRevision));
      return;
    }
    if (res.canceled) {
      this.end(new EtcdRequestError('canceled a watch', new Error(res.cancel_reason || 'no reason given')));
      return;
    }
    if (res.created) this.failures = 0;
    if (res.header) this.hooks.observe(Number(res.header.revision));
    if (res.events.length === 0) return;
    for (const e of res.events) {
      const event = this.toStoreEvent(e);
      if (event.revision <= this.received) continue;
      if (this.buffer.length - this.head >= this.limit) {
        this.end(new WatchTooSlowError(this.received, this.limit));
        return;
      }
      this.buffer.push(event);
      this.received = event.revision;
    }
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private toStoreEvent(e: IEvent): StoreEvent {
    const key = this.keys.fromEtcd(e.kv.key);
    const revision = Number(e.kv.mod_revision);
    const prev = e.prev_kv;
    const prevValue = prev ? decodeValue(prev.value.toString('utf8'), Number(prev.mod_revision)) : undefined;
    if (e.type === 'Delete') {
      return prevValue === undefined ? { type: 'DELETE', key, revision } : { type: 'DELETE', key, revision, prevValue };
    }
    const value = decodeValue(e.kv.value.toString('utf8'), revision);
    return prevValue === undefined
      ? { type: 'PUT', key, revision, value }
      : { type: 'PUT', key, revision, value, prevValue };
  }

  private async *iterate(): AsyncGenerator<StoreEvent> {
    if (this.iterated) throw new Error('a watcher can be iterated only once');
    this.iterated = true;
    try {
      for (;;) {
        if (this.head < this.buffer.length) {
          const event = this.buffer[this.head] as StoreEvent;
          this.head++;
          if (this.head > 1024 && this.head * 2 > this.buffer.length) {
            this.buffer = this.buffer.slice(this.head);
            this.head = 0;
          }
          yield event;
          continue;
        }
        if (this.ended) break;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
      if (this.error) throw this.error;
    } finally {
      this.end(this.error);
    }
  }
}

/**
 * Cancel the call (so etcd drops the watch: a half-close alone leaves it running until the connection goes),
 * after ending our side: etcd3 counts the cancelled call's error against the member only while the stream is
 * writable, and three such errors in a row would open its circuit breaker for every request.
 */
function hangUp(stream: IDuplexStream<IWatchRequest, IWatchResponse>): void {
  stream.end();
  stream.cancel();
}
