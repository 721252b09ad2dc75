// The audit log file: one JSON line per event, appended in order off the request's path, rotated past a size
// (kube-apiserver's --audit-log-maxsize / --audit-log-maxbackup: `audit.log` → `audit.log.1` → …).

import { appendFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface AuditLogOptions {
  readonly path: string;
  /** Rotate once the file is past this size. @default 100 MiB */
  readonly maxSizeBytes?: number;
  /** Rotated files kept. @default 5 */
  readonly maxBackups?: number;
}

export class AuditLog {
  readonly #path: string;
  readonly #maxSize: number;
  readonly #maxBackups: number;
  #queue: string[] = [];
  #size: number | undefined;
  #flushing: Promise<void> | undefined;

  constructor(options: AuditLogOptions) {
    this.#path = options.path;
    this.#maxSize = options.maxSizeBytes ?? 100 * 1024 * 1024;
    this.#maxBackups = options.maxBackups ?? 5;
  }

  write(event: unknown): void {
    this.#queue.push(`${JSON.stringify(event)}\n`);
    this.#flushing ??= this.#flush().finally(() => (this.#flushing = undefined));
  }

  /** Resolves once every event written so far is in the file. */
  async flush(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const lines = this.#queue;
      this.#queue = [];
      const text = lines.join('');
      if (this.#size === undefined) {
        await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 });
        this.#size = await stat(this.#path).then(
          (s) => s.size,
          () => 0,
        );
      }
      await appendFile(this.#path, text, { mode: 0o600 }).catch(() => undefined);
      this.#size += Buffer.byteLength(text);
      if (this.#size >= this.#maxSize) await this.#rotate();
    }
  }

  async #rotate(): Promise<void> {
    await rm(`${this.#path}.${this.#maxBackups}`, { force: true });
    for (let i = this.#maxBackups - 1; i >= 1; i--)
      await rename(`${this.#path}.${i}`, `${this.#path}.${i + 1}`).catch(() => undefined);
    if (this.#maxBackups > 0) await rename(this.#path, `${this.#path}.1`).catch(() => undefined);
    else await rm(this.#path, { force: true });
    this.#size = 0;
  }
}
