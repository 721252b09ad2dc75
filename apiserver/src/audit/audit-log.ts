// The audit log file: one JSON line per event, appended in order off the request's path, rotated past a size
// (kube-apiserver's --audit-log-maxsize / --audit-log-maxbackup: `audit.log` → `audit.log.1` → …).

import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
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
  /** Kept open between flushes (as kube-apiserver keeps its log open); reopened after a rotation. */
  #file: FileHandle | undefined;

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

  /** Flushes, then closes the file (a later write opens it again). */
  async close(): Promise<void> {
    await this.flush();
    const file = this.#file;
    this.#file = undefined;
    await file?.close().catch(() => undefined);
  }

  async #flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const lines = this.#queue;
      this.#queue = [];
      const text = lines.join('');
      // One write per batch on the open file: opening and closing it per batch were two more trips to the
      // thread pool for every write the server answered.
      const file = await this.#open().catch(() => undefined);
      if (file !== undefined) await file.appendFile(text).catch(() => undefined);
      this.#size = (this.#size ?? 0) + Buffer.byteLength(text);
      if (this.#size >= this.#maxSize) await this.#rotate();
    }
  }

  async #open(): Promise<FileHandle> {
    if (this.#file !== undefined) return this.#file;
    await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 });
    const file = await open(this.#path, 'a', 0o600);
    this.#size = (await file.stat()).size;
    this.#file = file;
    return file;
  }

  async #rotate(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    await file?.close().catch(() => undefined);
    await rm(`${this.#path}.${this.#maxBackups}`, { force: true });
    for (let i = this.#maxBackups - 1; i >= 1; i--)
      await rename(`${this.#path}.${i}`, `${this.#path}.${i + 1}`).catch(() => undefined);
    if (this.#maxBackups > 0) await rename(this.#path, `${this.#path}.1`).catch(() => undefined);
    else await rm(this.#path, { force: true });
    this.#size = 0;
  }
}
