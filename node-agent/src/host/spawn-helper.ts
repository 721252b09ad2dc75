// The agent's side of the spawn helper: forks spawn-helper-main once, on first use, and runs host tools through it
// over the IPC channel. Node forks the whole calling process for every spawn and its event loop stands still
// meanwhile: tens of milliseconds at the agent's RSS under load, 9 s of the main thread over 40 Service replicas
// started and removed (bench/service-replicas.ts --cpu-prof). The helper's fork is of a ~40 MB process instead.
import { fork, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError } from '@berth/api';
import type { HelperReply, HelperRequest, SpawnFailure } from './spawn-helper-protocol.js';

export class SpawnHelperError extends BerthError<'HelperExited' | 'HelperUnavailable'> {}

export interface HelperResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

type Pending = { resolve: (r: HelperReply) => void; reject: (e: unknown) => void; child?: ChildProcess };

/** An Error shaped as spawn()'s own (code ENOENT, syscall, path), so callers' checks keep working. */
function spawnError(f: SpawnFailure): Error {
  return Object.assign(new Error(f.message), {
    ...(f.code !== undefined ? { code: f.code } : {}),
    ...(f.errno !== undefined ? { errno: f.errno } : {}),
    ...(f.syscall !== undefined ? { syscall: f.syscall } : {}),
    ...(f.path !== undefined ? { path: f.path } : {}),
  });
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

export class SpawnHelper {
  #child: ChildProcess | undefined;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  /** Runs `file args` to its exit; rejects as spawn() would when the tool cannot start. */
  async run(
    file: string,
    args: readonly string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; signal?: AbortSignal } = {},
  ): Promise<HelperResult> {
    const { signal } = options;
    if (signal?.aborted) throw abortError(signal);
    const id = this.#nextId++;
    const onAbort = () => {
      this.#post({ op: 'kill', id });
      this.#settle(id)?.reject(abortError(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const reply = await this.#call({
        op: 'run',
        id,
        file,
        args,
        env: { ...(options.env ?? process.env) },
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        ...(options.input === undefined ? {} : { input: options.input }),
      });
      if ('failed' in reply) throw spawnError(reply.failed);
      if (!('stdout' in reply))
        throw new SpawnHelperError('HelperUnavailable', 'unexpected reply from the spawn helper');
      return { code: reply.code, signal: reply.signal, stdout: reply.stdout, stderr: reply.stderr };
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Starts `file args` detached with a pipe on fd 3 and resolves with the first line written to it ('' with all of
   * stderr when the tool closed it without a line). conmon reports the container's pid this way.
   */
  async startWithSyncPipe(
    file: string,
    args: readonly string[],
    options: { cwd: string; env: NodeJS.ProcessEnv },
  ): Promise<{ line: string; stderr: string }> {
    const reply = await this.#call({ op: 'sync', id: this.#nextId++, file, args, cwd: options.cwd, env: options.env });
    if ('failed' in reply) throw spawnError(reply.failed);
    if (!('line' in reply)) throw new SpawnHelperError('HelperUnavailable', 'unexpected reply from the spawn helper');
    return { line: reply.line, stderr: reply.stderr };
  }

  /** The helper's pid while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Ends the helper (tools it started run on). */
  close(): void {
    const child = this.#child;
    this.#child = undefined;
    if (child?.connected === true) child.disconnect();
  }

  #call(req: HelperRequest): Promise<HelperReply> {
    return new Promise((resolve, reject) => {
      this.#pending.set(req.id, { resolve, reject });
      // Requests in flight keep the agent's process alive, as a child of its own would; an idle helper does not.
      if (this.#pending.size === 1) this.#ref(true);
      this.#post(req);
    });
  }

  #settle(id: number): Pending | undefined {
    const p = this.#pending.get(id);
    if (p === undefined) return undefined;
    this.#pending.delete(id);
    if (this.#pending.size === 0) this.#ref(false);
    return p;
  }

  /** The channel and the process both: a helper that dies mid-request must still be seen to exit. */
  #ref(on: boolean): void {
    const child = this.#child as (ChildProcess & { channel?: { ref(): void; unref(): void } }) | undefined;
    if (on) {
      child?.ref();
      child?.channel?.ref();
    } else {
      child?.unref();
      child?.channel?.unref();
    }
  }

  #post(req: HelperRequest): void {
    const child = this.#child ?? this.#start();
    const pending = this.#pending.get(req.id);
    if (pending !== undefined && req.op !== 'kill') pending.child = child;
    child.send(req, (err) => {
      if (err !== null && err !== undefined && req.op !== 'kill')
        this.#settle(req.id)?.reject(
          new SpawnHelperError('HelperUnavailable', `could not reach the spawn helper: ${err.message}`, { cause: err }),
        );
    });
  }

  #start(): ChildProcess {
    const entry = helperEntry();
    const child = fork(entry, [], {
      // Only what the helper needs: not the agent's flags (heap sizes, profilers, a test runner's hooks).
      // No JIT (it runs little JS; 44 MB RSS instead of 50, so its own forks are cheaper too), and no wasm, which
      // V8 would otherwise turn off with a warning on stderr.
      execArgv: entry.endsWith('.ts')
        ? ['--import', import.meta.resolve('tsx')]
        : ['--jitless', '--no-expose-wasm', '--max-semi-space-size=1'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'json',
    });
    child.on('message', (reply: HelperReply) => this.#settle(reply.id)?.resolve(reply));
    child.once('exit', (code, signal) => {
      if (this.#child === child) this.#child = undefined;
      // What was in flight is lost with it; the next request starts a new helper.
      const err = new SpawnHelperError('HelperExited', `the spawn helper exited (${code ?? signal})`);
      for (const [id, p] of [...this.#pending]) if (p.child === child) this.#settle(id)?.reject(err);
    });
    child.on('error', () => undefined); // 'exit' follows and settles what was in flight
    this.#child = child;
    this.#ref(this.#pending.size > 0);
    return child;
  }
}

/**
 * The helper's module: beside this one once built; from source (under tsx), the built copy when it is at least as
 * new as the source (it imports only node: modules, and a Node start under tsx costs several times its CPU), else
 * the source itself.
 */
function helperEntry(): string {
  const here = fileURLToPath(import.meta.url);
  if (extname(here) !== '.ts') return join(dirname(here), 'spawn-helper-main.js');
  const source = join(dirname(here), 'spawn-helper-main.ts');
  const built = join(dirname(here), '..', '..', 'dist', 'host', 'spawn-helper-main.js');
  try {
    if (statSync(built).mtimeMs >= statSync(source).mtimeMs) return built;
  } catch {
    // Not built: run the source.
  }
  return source;
}

let shared: SpawnHelper | undefined;

/** The process's one helper (created on first use). */
export function spawnHelper(): SpawnHelper {
  shared ??= new SpawnHelper();
  return shared;
}
