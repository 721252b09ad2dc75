// Reads conmon's k8s-file container logs (`<RFC3339Nano> stdout|stderr F|P <text>`) as a stream, with follow/tail/since.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkInteger, InvalidArgumentError } from '@berth/api';

export type LogStreamName = 'stdout' | 'stderr';

/** One record as conmon wrote it; `partial` records continue in the next record of the same stream. */
export interface LogRecord {
  /** As written, e.g. `2026-11-25T16:58:53.806763548+00:00`. */
  readonly time: string;
  readonly stream: LogStreamName;
  readonly partial: boolean;
  readonly text: string;
}

/** One logical line: partial records joined. */
export interface LogEntry {
  /** RFC3339Nano in UTC (`…Z`), as Kubernetes prints with `timestamps`. */
  readonly time: string;
  /** Milliseconds since the epoch, for comparisons. */
  readonly timeMs: number;
  readonly stream: LogStreamName;
  readonly text: string;
  /**
   * The text has no newline after it: the last output of a stream that did not end its line (conmon's final `P`
   * record), returned once no more of the line is in the file. A later entry may continue the line.
   */
  readonly partial?: boolean;
}

export interface LogReadOptions {
  /** Keep reading as the container writes, across rotations, until `signal` aborts or `until` says done. @default false */
  readonly follow?: boolean;
  /** Only the last N lines (before following). @default all */
  readonly tailLines?: number;
  /** Only lines written in the last N seconds. @default all */
  readonly sinceSeconds?: number;
  /** Prefix each line with its RFC3339Nano timestamp (text stream only). @default false */
  readonly timestamps?: boolean;
  /** Only these streams. @default both */
  readonly streams?: readonly LogStreamName[];
  readonly signal?: AbortSignal;
  /** Checked at end of file while following: true ends the stream (e.g. the container exited). */
  readonly until?: () => Promise<boolean>;
  /** How often to look for new data while following. @default 100 */
  readonly pollMs?: number;
}

const RECORD = /^(\S+) (stdout|stderr) ([FP]) (.*)$/s;

export function parseLogRecord(line: string): LogRecord | undefined {
  const m = RECORD.exec(line);
  if (m === null) return undefined;
  return { time: m[1] ?? '', stream: m[2] as LogStreamName, partial: m[3] === 'P', text: m[4] ?? '' };
}

/** `2026-…T…​.806763548+02:00` → `2026-…T…​.806763548Z` (UTC, nanoseconds kept) and epoch ms. */
export function normalizeLogTime(time: string): { iso: string; ms: number } {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(time);
  if (m === null) {
    const ms = Date.parse(time);
    return { iso: Number.isNaN(ms) ? time : new Date(ms).toISOString(), ms: Number.isNaN(ms) ? 0 : ms };
  }
  const seconds = Date.parse(`${m[1] ?? ''}${m[3] ?? 'Z'}`);
  const frac = (m[2] ?? '').padEnd(9, '0').slice(0, 9);
  const iso = `${new Date(seconds).toISOString().slice(0, 19)}.${frac}Z`;
  return { iso, ms: seconds + Number(frac.slice(0, 3)) };
}

const CHUNK = 64 * 1024;

/** Reads complete lines from `handle` starting at `offset`; the incomplete tail stays unread. */
async function* linesFrom(handle: FileHandle, offset: number): AsyncGenerator<{ line: string; end: number }> {
  let position = offset;
  let carry = Buffer.alloc(0);
  const buf = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    const { bytesRead } = await handle.read(buf, 0, CHUNK, position + carry.length);
    if (bytesRead === 0) return;
    let data = carry.length === 0 ? buf.subarray(0, bytesRead) : Buffer.concat([carry, buf.subarray(0, bytesRead)]);
    let start = 0;
    for (let nl = data.indexOf(10, start); nl >= 0; nl = data.indexOf(10, start)) {
      yield { line: data.subarray(start, nl).toString('utf8'), end: position + nl + 1 };
      start = nl + 1;
    }
    position += start;
    carry = Buffer.from(data.subarray(start));
    data = Buffer.alloc(0);
  }
}

interface Position {
  readonly file: number;
  readonly offset: number;
}

/**
 * Where reading must begin to see the last `n` logical lines, scanning forward and keeping only n
 * offsets (never the log). A line's start is its first partial record, which may precede records of
 * the other stream; the caller trims the surplus lines this lets in.
 */
async function tailStart(files: readonly string[], n: number, streams: ReadonlySet<LogStreamName>): Promise<Position> {
  const last = files.length - 1;
  if (n <= 0) return { file: last, offset: await sizeOf(files[last] ?? '') };
  const ring: Position[] = [];
  const pendingStart = new Map<LogStreamName, Position>();
  for (let f = 0; f < files.length; f++) {
    const handle = await openIfExists(files[f] ?? '');
    if (handle === undefined) continue;
    try {
      let recordStart = 0;
      for await (const { line, end } of linesFrom(handle, 0)) {
        const here = { file: f, offset: recordStart };
        recordStart = end;
        const rec = parseLogRecord(line);
        if (rec === undefined || !streams.has(rec.stream)) continue;
        if (rec.partial) {
          if (!pendingStart.has(rec.stream)) pendingStart.set(rec.stream, here);
          continue;
        }
        ring.push(pendingStart.get(rec.stream) ?? here);
        pendingStart.delete(rec.stream);
        if (ring.length > n) ring.shift();
      }
    } finally {
      await handle.close();
    }
  }
  let earliest: Position | undefined;
  for (const p of ring) {
    if (earliest === undefined || p.file < earliest.file || (p.file === earliest.file && p.offset < earliest.offset))
      earliest = p;
  }
  return earliest ?? { file: last, offset: await sizeOf(files[last] ?? '') };
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

async function openIfExists(file: string): Promise<FileHandle | undefined> {
  try {
    return await open(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Throws InvalidArgumentError for options no read can honour (a negative tail or age, a 0 poll interval). */
export function checkLogReadOptions(options: LogReadOptions): void {
  if (options.tailLines !== undefined && (!Number.isInteger(options.tailLines) || options.tailLines < 0))
    throw new InvalidArgumentError(`tailLines must be a non-negative integer, got ${options.tailLines}`);
  if (options.sinceSeconds !== undefined && !(options.sinceSeconds >= 0))
    throw new InvalidArgumentError(`sinceSeconds must be >= 0, got ${options.sinceSeconds}`);
  checkInteger('readLogEntries', 'pollMs', options.pollMs);
}

/**
 * Log entries from `files` (oldest first: the rotated `.1`, then the live log). With `follow` it keeps
 * reading the live file and, when the writer replaces it (rotation), finishes the old one and moves on.
 */
export async function* readLogEntries(
  files: readonly string[],
  options: LogReadOptions = {},
): AsyncGenerator<LogEntry> {
  // Checked before anything is opened (and even with no files), so a caller's bug shows on its first call.
  checkLogReadOptions(options);
  if (files.length === 0) return;
  const streams = new Set<LogStreamName>(options.streams ?? ['stdout', 'stderr']);
  const sinceMs = options.sinceSeconds === undefined ? undefined : Date.now() - options.sinceSeconds * 1000;
  const start: Position =
    options.tailLines === undefined ? { file: 0, offset: 0 } : await tailStart(files, options.tailLines, streams);
  const pending = new Map<LogStreamName, { time: string; text: string }>();
  const pollMs = options.pollMs ?? 100;
  // While catching up on a tail, hold at most n entries so only the last n come out.
  let tailRing: LogEntry[] | undefined = options.tailLines === undefined ? undefined : [];
  function* emit(entries: Iterable<LogEntry>): Generator<LogEntry> {
    for (const e of entries) {
      if (tailRing === undefined) {
        yield e;
        continue;
      }
      tailRing.push(e);
      if (tailRing.length > (options.tailLines ?? 0)) tailRing.shift();
    }
  }
  function* flushTail(): Generator<LogEntry> {
    if (tailRing === undefined) return;
    const held = tailRing;
    tailRing = undefined;
    yield* held;
  }

  function* consume(line: string): Generator<LogEntry> {
    const rec = parseLogRecord(line);
    if (rec === undefined || !streams.has(rec.stream)) return;
    const before = pending.get(rec.stream);
    const text = (before?.text ?? '') + rec.text;
    const time = before?.time ?? rec.time;
    if (rec.partial) {
      pending.set(rec.stream, { time, text });
      return;
    }
    pending.delete(rec.stream);
    const t = normalizeLogTime(time);
    if (sinceMs !== undefined && t.ms < sinceMs) return;
    yield { time: t.iso, timeMs: t.ms, stream: rec.stream, text };
  }

  /** The lines still open at the end of what was written: their text so far, so a last line without a newline shows. */
  function* flushPending(): Generator<LogEntry> {
    for (const [stream, p] of pending) {
      const t = normalizeLogTime(p.time);
      if (sinceMs === undefined || t.ms >= sinceMs)
        yield { time: t.iso, timeMs: t.ms, stream, text: p.text, partial: true };
    }
    pending.clear();
  }

  const last = files.length - 1;
  for (let f = start.file; f < last; f++) {
    const handle = await openIfExists(files[f] ?? '');
    if (handle === undefined) continue;
    try {
      for await (const { line } of linesFrom(handle, f === start.file ? start.offset : 0)) yield* emit(consume(line));
    } finally {
      await handle.close();
    }
  }

  const livePath = files[last] ?? '';
  let offset = start.file === last ? start.offset : 0;
  let handle = await openIfExists(livePath);
  try {
    for (;;) {
      if (options.signal?.aborted === true) return;
      if (handle !== undefined) {
        for await (const { line, end } of linesFrom(handle, offset)) {
          offset = end;
          yield* emit(consume(line));
        }
      }
      yield* emit(flushPending());
      yield* flushTail();
      if (options.follow !== true) return;
      // Rotated or replaced: the old file is read to its end above; continue with the new one.
      const current = await stat(livePath).catch(() => undefined);
      if (current !== undefined && (handle === undefined || current.ino !== (await handle.stat()).ino)) {
        // Lines may have reached the old file between the read above and the writer reopening.
        if (handle !== undefined) for await (const { line } of linesFrom(handle, offset)) yield* emit(consume(line));
        await handle?.close();
        handle = await openIfExists(livePath);
        offset = 0;
        continue;
      }
      if (options.until !== undefined && (await options.until())) {
        // One more pass: the writer may have flushed its last lines just before finishing.
        if (handle !== undefined)
          for await (const { line, end } of linesFrom(handle, offset)) {
            offset = end;
            yield* emit(consume(line));
          }
        yield* emit(flushPending());
        return;
      }
      try {
        await sleep(pollMs, undefined, options.signal === undefined ? undefined : { signal: options.signal });
      } catch {
        return;
      }
    }
  } finally {
    await handle?.close();
  }
}

/** The `log` subresource's body: lines of text, optionally timestamped, streamed as they are read. */
export function createLogStream(files: readonly string[], options: LogReadOptions = {}): Readable {
  const timestamps = options.timestamps === true;
  async function* lines(): AsyncGenerator<string> {
    for await (const e of readLogEntries(files, options))
      yield `${timestamps ? `${e.time} ` : ''}${e.text}${e.partial === true ? '' : '\n'}`;
  }
  return Readable.from(lines(), { objectMode: false });
}
