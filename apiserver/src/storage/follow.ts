// Follows a key prefix the way an informer does: list, then watch from the list's revision; when the watch
// fails (too slow, compacted, store hiccup) list again and carry on, until closed.

import type { Store, StoreEvent, StoredValue } from './interface.js';
import type { Logger } from '../logging/logger.js';
import type { WatchSource } from '../watch/watch-stream.js';

export interface Follower {
  /** Resolves after the first list has been handled. */
  readonly ready: Promise<void>;
  close(): Promise<void>;
}

export function follow(
  store: Store,
  source: WatchSource,
  prefix: string,
  handlers: { list(items: StoredValue[]): Promise<void>; event(e: StoreEvent): Promise<void> },
  name: string,
  log: Logger,
): Follower {
  let closed = false;
  let stop: (() => void) | undefined;
  let markReady: () => void = () => undefined;
  let failReady: (e: unknown) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  const loop = (async () => {
    let first = true;
    while (!closed) {
      try {
        const { items, revision } = await store.list({ prefix });
        await handlers.list(items);
        if (first) markReady();
        first = false;
        const watcher = source.watch(prefix, revision);
        stop = () => watcher.close();
        if (closed) watcher.close();
        for await (const e of watcher.events) await handlers.event(e);
      } catch (err) {
        if (first) return failReady(err);
        if (!closed) {
          log.warn({ follower: name, err }, 'watch restarting');
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
  })();
  return {
    ready,
    async close() {
      closed = true;
      stop?.();
      await loop;
    },
  };
}
