// Notices container exits as they happen: an inotify watch on the directory where the runtime records each exit.
//
// The composition root says where that is (conmon's `exit/` directory); the reconciler only asks to watch an id.
// A change there re-queues the Container, so exits, crashes and OOM kills reach status without polling; the
// reconciler still polls slowly as a safety net.
import { watch, type FSWatcher } from 'node:fs';

/** What the reconciler needs of exit notification. */
export interface ExitNotifier {
  /** Idempotent; `key` is queued when the container `id` exits. */
  watch(id: string, key: string): void;
  unwatch(id: string): void;
}

export class ExitWatcher implements ExitNotifier {
  readonly #watchers = new Map<string, FSWatcher>();
  readonly #exitDirOf: (id: string) => string;
  readonly #onExit: (key: string) => void;

  constructor(exitDirOf: (id: string) => string, onExit: (key: string) => void) {
    this.#exitDirOf = exitDirOf;
    this.#onExit = onExit;
  }

  /** A directory that cannot be watched is left to polling. */
  watch(id: string, key: string): void {
    if (this.#watchers.has(id)) return;
    try {
      const w = watch(this.#exitDirOf(id), { persistent: false }, () => this.#onExit(key));
      w.on('error', () => this.unwatch(id));
      this.#watchers.set(id, w);
    } catch {
      // polling covers it
    }
  }

  unwatch(id: string): void {
    this.#watchers.get(id)?.close();
    this.#watchers.delete(id);
  }

  close(): void {
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }
}
