// Events expire an hour after their last occurrence, as Kubernetes stores them with a one-hour TTL.

import { decode } from '../objects/object-store.js';
import { checkInteger } from '@berth/api';
import { defaultLogger, type Logger } from '../logging/logger.js';
import type { Store } from '../storage/interface.js';

const eventPrefix = '/registry/core/events/';

export class EventExpiry {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly ttlMs = 3600_000,
    private readonly intervalMs = 60_000,
    private readonly log: Logger = defaultLogger(),
  ) {
    checkInteger('EventExpiry', 'ttlMs', ttlMs);
    checkInteger('EventExpiry', 'intervalMs', intervalMs);
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#running ??= this.sweep()
        .then(
          () => undefined,
          (err: unknown) => this.log.warn({ err }, 'event expiry sweep failed'),
        )
        .finally(() => (this.#running = undefined));
    }, this.intervalMs);
    this.#timer.unref();
  }

  /** Deletes every event whose last occurrence is older than the TTL; returns how many. */
  async sweep(now = Date.now()): Promise<number> {
    let deleted = 0;
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.store.list({
        prefix: eventPrefix,
        limit: 1000,
        ...(startAfter === undefined ? {} : { startAfter }),
      });
      for (const item of page.items) {
        const ev = decode(item);
        const last = [ev['lastTimestamp'], ev['eventTime'], ev['firstTimestamp'], ev.metadata.creationTimestamp].find(
          (t) => typeof t === 'string',
        ) as string | undefined;
        if (last !== undefined && now - Date.parse(last) > this.ttlMs) {
          const r = await this.store.delete(item.key, item.modRevision);
          if (r.ok) deleted++;
        }
      }
      if (page.next === undefined) return deleted;
      startAfter = page.next;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }
}
