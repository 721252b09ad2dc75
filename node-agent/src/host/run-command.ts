// Runs a host tool to completion and hands back its exit status and output (small outputs only).
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { posixSpawn } from './posix-spawn.js';

export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunCommandOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  readonly signal?: AbortSignal;
}

/**
 * How tools start: with posix_spawn(3) from this process (posix-spawn.ts: no fork of the agent's large process, so
 * its event loop does not wait; it replaced a forked helper process of ~44 MB). BERTH_SPAWN=node (libuv's fork)
 * measures the other way in one build.
 */
export const commandSpawner: 'posix-spawn' | 'node' = process.env['BERTH_SPAWN'] === 'node' ? 'node' : 'posix-spawn';

/** Spawns `file args` without a shell; rejects only when the tool cannot be started at all. */
export function runCommand(
  file: string,
  args: readonly string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  return commandSpawner === 'node' ? spawnHere(file, args, options) : spawnPosix(file, args, options);
}

/** An Error shaped as spawn()'s when its signal aborts it. */
function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

async function spawnPosix(file: string, args: readonly string[], options: RunCommandOptions): Promise<CommandResult> {
  const { signal } = options;
  if (signal?.aborted) throw abortError(signal);
  const child = await posixSpawn(file, args, {
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
  });
  const read = (stream: Readable | undefined): Promise<string> =>
    new Promise((resolve) => {
      if (stream === undefined) return resolve('');
      const chunks: Buffer[] = [];
      stream.on('data', (b: Buffer) => chunks.push(b));
      stream.on('error', () => undefined); // the tool's exit ends it either way
      stream.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
  const stdin = child.pipes.get(0);
  if (stdin !== undefined) {
    // A tool that exits without reading its input must not fail the call with EPIPE.
    stdin.on('error', () => undefined);
    stdin.end(options.input ?? '');
  }
  const output = Promise.all([read(child.pipes.get(1)), read(child.pipes.get(2))]);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    if (signal === undefined) return;
    onAbort = () => {
      // As spawn() does: the tool gets SIGTERM and the call rejects at once.
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const [[stdout, stderr], { code, signal: exitSignal }] = await Promise.race([
      Promise.all([output, child.exited]),
      aborted,
    ]);
    return { code, signal: exitSignal, stdout, stderr };
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}

function spawnHere(file: string, args: readonly string[], options: RunCommandOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
