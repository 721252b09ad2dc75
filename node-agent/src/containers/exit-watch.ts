// Notices container exits as they happen: an inotify watch on each running container's conmon exit directory.
//
// conmon writes `exit/<id>` when the process ends; a change there re-queues the Container, so exits, crashes and
// OOM kills reach status without polling. The reconciler still polls slowly as a safety net.
import { watch, type FSWatcher } from 'node:fs';

export class ExitWatcher {
  readonly #watchers = new Map<string, FSWatcher>();
  readonly #onExit: (key: string) => void;

  constructor(onExit: (key: string) => void) {
    this.#onExit = onExit;
  }

  /** Idempotent; a directory that cannot be watched is left to polling. */
  watch(id: string, exitDir: string, key: string): void {
    if (this.#watchers.has(id)) return;
    try {
      const w = watch(exitDir, { persistent: false }, () => this.#onExit(key));
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
