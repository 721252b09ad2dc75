// An in-memory Runtime for unit tests of what drives a runtime (the agent's container reconcile): a container
// is a timer playing fake-program.ts's busybox subset, not a process. It passes the same conformance suite as
// ConmonRuntime (fake-runtime.test.ts), so a test that passes on it asks nothing the real runtime does not give.
//
// Beyond Runtime it lets a test steer and look: `exit(id, code)` ends a container as if its process had,
// `failNext(method, error)` makes the next call of a method fail, `configOf(id)` is what the container was
// created with. It ignores what needs a kernel: env, cwd, user, limits, mounts, network (validated, not applied).
import { PassThrough, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { checkInteger } from '@berth/api';
import { checkLogReadOptions, type LogReadOptions, type LogStreamName } from '../../src/logs/k8s-file.js';
import { RuntimeError } from '../../src/runtime/errors.js';
import { checkContainerId, validateContainerConfig } from '../../src/runtime/oci-spec.js';
import type {
  AttachOptions,
  ContainerConfig,
  ContainerState,
  ExecOptions,
  LogRotationPolicy,
  Runtime,
  StdioSession,
} from '../../src/runtime/runtime.js';
import { parseProgram, playProgram, type Step } from './fake-program.js';

interface LogLine {
  readonly time: string;
  readonly timeMs: number;
  readonly stream: LogStreamName;
  readonly text: string;
}

/** One container as the fake host keeps it. */
export interface FakeContainer {
  readonly id: string;
  readonly config: ContainerConfig;
  readonly steps: readonly Step[];
  readonly pid: number;
  readonly createdAt: string;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  exitCode: number | undefined;
  /** The rotated log and the live one, oldest first; `liveStart` is where the live one begins. */
  log: LogLine[];
  liveStart: number;
  liveBytes: number;
  readonly traps: Map<NodeJS.Signals, number>;
  /** The container's own stdin, open for attach when it was created with `stdin`. */
  readonly stdin: PassThrough | undefined;
  /** Aborted when the process ends: stops its program and its exec sessions. */
  readonly ended: AbortController;
  readonly onLine: Set<(line: LogLine) => void>;
}

/**
 * What a fake runtime keeps "on disk": a new FakeRuntime on the same host sees and manages what an earlier
 * one started, as a restarted agent does with ConmonRuntime.
 */
export class FakeHost {
  readonly containers = new Map<string, FakeContainer>();
  #nextPid = 4000;

  allocatePid(): number {
    return (this.#nextPid += 2);
  }

  /** Ends every container and forgets it (a test's teardown: no fake sleep outlives its test). */
  shutdown(): void {
    for (const c of this.containers.values()) {
      c.exitCode ??= 137;
      c.ended.abort();
      c.stdin?.destroy();
    }
    this.containers.clear();
  }
}

type FallibleMethod = 'create' | 'start' | 'stop' | 'kill' | 'delete' | 'exec' | 'attach';

/** Ends `stream` and, when someone is reading it, waits until they have had everything. */
async function drained(stream: PassThrough): Promise<void> {
  stream.end();
  if (stream.readableFlowing === true) await finished(stream).catch(() => undefined);
}

/** RFC3339 with nanoseconds, as conmon's k8s-file log writes it. */
function logTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000000Z');
}

export class FakeRuntime implements Runtime {
  readonly host: FakeHost;
  readonly #failures = new Map<FallibleMethod, unknown>();

  constructor(host: FakeHost = new FakeHost()) {
    this.host = host;
  }

  /** Makes the next call of `method` reject with `error` (once). */
  failNext(method: FallibleMethod, error: unknown): void {
    this.#failures.set(method, error);
  }

  /** Ends a running container's process with `code`, as if it had exited by itself. */
  exit(id: string, code: number): void {
    const c = this.#get(id);
    if (c.startedAt === undefined || c.exitCode !== undefined)
      throw new RuntimeError('ContainerNotRunning', `container ${id} is not running`);
    this.#finish(c, code);
  }

  /** The config `id` was created with, or undefined when it does not exist. */
  configOf(id: string): ContainerConfig | undefined {
    return this.host.containers.get(id)?.config;
  }

  #injected(method: FallibleMethod): void {
    if (!this.#failures.has(method)) return;
    const error = this.#failures.get(method);
    this.#failures.delete(method);
    throw error;
  }

  #get(id: string): FakeContainer {
    checkContainerId(id);
    const c = this.host.containers.get(id);
    if (c === undefined) throw new RuntimeError('ContainerNotFound', `container ${id} does not exist`);
    return c;
  }

  #append(c: FakeContainer, stream: LogStreamName, text: string): void {
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    for (const t of lines) {
      const now = Date.now();
      const line: LogLine = {
        time: logTime(now),
        timeMs: now,
        stream: c.config.tty === true ? 'stdout' : stream,
        text: t,
      };
      c.log.push(line);
      c.liveBytes += `${line.time} ${line.stream} F ${t}\n`.length;
      for (const listener of c.onLine) listener(line);
    }
  }

  #finish(c: FakeContainer, code: number): void {
    if (c.exitCode !== undefined) return;
    c.exitCode = code;
    c.finishedAt = new Date().toISOString();
    c.ended.abort();
    c.stdin?.destroy();
  }

  #state(c: FakeContainer): ContainerState {
    const exited = c.exitCode !== undefined;
    return {
      id: c.id,
      status: exited ? 'exited' : c.startedAt === undefined ? 'created' : 'running',
      pid: exited ? undefined : c.pid,
      conmonPid: exited ? undefined : c.pid + 1,
      exitCode: c.exitCode,
      createdAt: c.createdAt,
      startedAt: c.startedAt,
      finishedAt: c.finishedAt,
      oomKilled: false,
      reason: !exited ? undefined : c.exitCode === 0 ? 'Completed' : 'Error',
      logPath: `/fake-runtime/containers/${c.id}/container.log`,
    };
  }

  async create(id: string, config: ContainerConfig): Promise<ContainerState> {
    checkContainerId(id);
    validateContainerConfig(config);
    this.#injected('create');
    if (this.host.containers.has(id)) throw new RuntimeError('ContainerExists', `container ${id} already exists`);
    const steps = parseProgram(config.args);
    const c: FakeContainer = {
      id,
      config,
      steps,
      pid: this.host.allocatePid(),
      createdAt: new Date().toISOString(),
      startedAt: undefined,
      finishedAt: undefined,
      exitCode: undefined,
      log: [],
      liveStart: 0,
      liveBytes: 0,
      traps: new Map(),
      stdin: config.stdin === true ? new PassThrough() : undefined,
      ended: new AbortController(),
      onLine: new Set(),
    };
    this.host.containers.set(id, c);
    return this.#state(c);
  }

  async start(id: string): Promise<ContainerState> {
    const c = this.#get(id);
    this.#injected('start');
    if (c.startedAt !== undefined) throw new RuntimeError('ContainerRunning', `container ${id} was already started`);
    if (c.exitCode !== undefined)
      throw new RuntimeError('RuntimeFailed', `starting container ${id} failed: it was killed before it started`);
    c.startedAt = new Date().toISOString();
    const io = {
      write: (stream: LogStreamName, text: string) => this.#append(c, stream, text),
      stdin: c.stdin,
      traps: c.traps,
      signal: c.ended.signal,
    };
    playProgram(c.steps, io).then(
      (code) => this.#finish(c, code),
      () => undefined, // ended from outside (kill, trap, exit): #finish already ran
    );
    return this.#state(c);
  }

  async run(id: string, config: ContainerConfig): Promise<ContainerState> {
    await this.create(id, config);
    try {
      return await this.start(id);
    } catch (err) {
      await this.delete(id, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  async state(id: string): Promise<ContainerState> {
    return this.#state(this.#get(id));
  }

  async ids(): Promise<string[]> {
    return [...this.host.containers.keys()].sort();
  }

  async list(): Promise<ContainerState[]> {
    return [...this.host.containers.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((c) => this.#state(c));
  }

  async kill(id: string, signal: NodeJS.Signals): Promise<void> {
    const c = this.#get(id);
    this.#injected('kill');
    if (c.exitCode !== undefined) throw new RuntimeError('ContainerNotRunning', `container ${id} is not running`);
    if (signal === 'SIGKILL') return this.#finish(c, 137);
    // The process is pid 1 of its namespace: a signal it has no trap for is ignored, SIGTERM included.
    const trapped = c.startedAt === undefined ? undefined : c.traps.get(signal);
    if (trapped !== undefined) this.#finish(c, trapped);
  }

  /** Counted only: nothing runs to freeze. */
  readonly paused = new Set<string>();

  async pause(id: string): Promise<void> {
    const c = this.#get(id);
    if (c.exitCode !== undefined) throw new RuntimeError('ContainerNotRunning', `container ${id} is not running`);
    this.paused.add(id);
  }

  async resume(id: string): Promise<void> {
    this.#get(id);
    this.paused.delete(id);
  }

  async stop(id: string, graceSeconds: number): Promise<ContainerState> {
    if (!Number.isFinite(graceSeconds) || graceSeconds < 0)
      throw new RuntimeError('InvalidConfig', `grace period ${graceSeconds} must be >= 0`);
    const c = this.#get(id);
    this.#injected('stop');
    if (c.exitCode !== undefined) return this.#state(c);
    if (graceSeconds > 0) {
      await this.kill(id, 'SIGTERM');
      if (c.exitCode === undefined) {
        const ended = c.ended.signal;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceSeconds * 1000);
          ended.addEventListener(
            'abort',
            () => {
              clearTimeout(timer);
              resolve();
            },
            { once: true },
          );
        });
      }
    }
    this.#finish(c, 137);
    return this.#state(c);
  }

  async delete(id: string, options: { readonly force?: boolean } = {}): Promise<void> {
    checkContainerId(id);
    this.#injected('delete');
    const c = this.host.containers.get(id);
    if (c === undefined) return;
    const running = c.startedAt !== undefined && c.exitCode === undefined;
    if (running && options.force !== true)
      throw new RuntimeError('ContainerRunning', `container ${id} is running; stop it first or delete with force`);
    this.#finish(c, 137);
    this.host.containers.delete(id);
  }

  /** Only the fake's own process: its exec sessions are no processes of their own. */
  async pids(id: string): Promise<number[]> {
    const c = this.#get(id);
    if (c.startedAt === undefined || c.exitCode !== undefined)
      throw new RuntimeError('ContainerNotRunning', `container ${id} is not running`);
    return [c.pid];
  }

  async exec(id: string, options: ExecOptions): Promise<StdioSession> {
    const c = this.#get(id);
    this.#injected('exec');
    if (c.startedAt === undefined || c.exitCode !== undefined)
      throw new RuntimeError('ContainerNotRunning', `container ${id} is not running`);
    const stdout = new PassThrough();
    const stderr = new PassThrough(); // stays empty with a tty
    const stdin = options.stdin === true ? new PassThrough() : undefined;
    const hangUp = new AbortController();
    const signal = AbortSignal.any([hangUp.signal, c.ended.signal]);
    let steps: Step[] | undefined;
    let notFound: unknown;
    try {
      steps = parseProgram(options.args);
    } catch (err) {
      notFound = err;
    }
    const write = (stream: LogStreamName, text: string): void =>
      void (stream === 'stderr' && options.tty !== true ? stderr : stdout).write(text);
    const exitCode = (async () => {
      try {
        // A process starts after exec returns (as crun's does), so the caller's readers are attached by then.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (steps === undefined) throw notFound;
        return await playProgram(steps, { write, stdin, traps: new Map(), signal });
      } catch (err) {
        if (signal.aborted) return c.ended.signal.aborted ? 137 : 129; // killed with the container, or hung up
        throw err;
      } finally {
        // Like a child's 'close': output a reader is consuming has all been delivered before the exit code.
        await Promise.all([drained(stdout), drained(stderr)]);
      }
    })();
    exitCode.catch(() => undefined); // a caller that never awaits it must not crash the process
    return {
      stdin,
      stdout,
      stderr,
      resize: async () => undefined,
      exitCode,
      async close() {
        hangUp.abort();
        stdin?.destroy();
        await exitCode.catch(() => undefined);
      },
    };
  }

  async attach(id: string, options: AttachOptions = {}): Promise<StdioSession> {
    const c = this.#get(id);
    this.#injected('attach');
    if (options.stdin === true && c.stdin === undefined)
      throw new RuntimeError('InvalidConfig', `container ${id} was not started with stdin`);
    if (c.exitCode !== undefined) throw new RuntimeError('ContainerNotRunning', `container ${id} is not running`);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const listener = (line: LogLine): void => void (line.stream === 'stderr' ? stderr : stdout).write(`${line.text}\n`);
    c.onLine.add(listener);
    let stdin: PassThrough | undefined;
    if (options.stdin === true) {
      stdin = new PassThrough();
      // Detaching (ending this stream) leaves the container's stdin open, as conmon's --leave-stdin-open does.
      stdin.on('data', (chunk: Buffer) => c.stdin?.write(chunk));
    }
    let end!: (code: number) => void;
    const exitCode = new Promise<number>((resolve) => (end = resolve));
    const detach = (): void => {
      c.onLine.delete(listener);
      stdout.end();
      stderr.end();
      end(c.exitCode ?? 0);
    };
    c.ended.signal.addEventListener('abort', detach, { once: true });
    return {
      stdin,
      stdout,
      stderr,
      resize: async () => undefined,
      exitCode,
      async close() {
        c.ended.signal.removeEventListener('abort', detach);
        detach();
      },
    };
  }

  logs(id: string, options: LogReadOptions = {}): Readable {
    checkContainerId(id);
    const host = this.host;
    async function* lines(): AsyncGenerator<string> {
      // The same checks, at the same moment, as the real log reader's.
      checkLogReadOptions(options);
      const c = host.containers.get(id);
      if (c === undefined) return;
      const streams = new Set(options.streams ?? ['stdout', 'stderr']);
      const sinceMs = options.sinceSeconds === undefined ? undefined : Date.now() - options.sinceSeconds * 1000;
      const wanted = (l: LogLine): boolean => streams.has(l.stream) && (sinceMs === undefined || l.timeMs >= sinceMs);
      const format = (l: LogLine): string => `${options.timestamps === true ? `${l.time} ` : ''}${l.text}\n`;
      const queued: LogLine[] = [];
      let wake: (() => void) | undefined;
      const listener = (l: LogLine): void => {
        queued.push(l);
        wake?.();
      };
      const nudge = (): void => wake?.();
      // Subscribe before the snapshot (same tick), so a follow misses no line and repeats none.
      if (options.follow === true) {
        c.onLine.add(listener);
        c.ended.signal.addEventListener('abort', nudge);
        options.signal?.addEventListener('abort', nudge);
      }
      try {
        let past = c.log.filter(wanted);
        if (options.tailLines !== undefined) past = options.tailLines === 0 ? [] : past.slice(-options.tailLines);
        for (const l of past) yield format(l);
        if (options.follow !== true) return;
        const until = options.until ?? (async () => c.exitCode !== undefined || !host.containers.has(id));
        for (;;) {
          while (queued.length > 0) {
            const l = queued.shift();
            if (l !== undefined && wanted(l)) yield format(l);
          }
          if (options.signal?.aborted === true || (await until())) {
            for (const l of queued.splice(0)) if (wanted(l)) yield format(l);
            return;
          }
          if (queued.length > 0) continue;
          // A new line, the container's end or the caller's abort wakes it; the poll re-asks `until`.
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, options.pollMs ?? 100);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
      } finally {
        c.onLine.delete(listener);
        c.ended.signal.removeEventListener('abort', nudge);
        options.signal?.removeEventListener('abort', nudge);
      }
    }
    return Readable.from(lines(), { objectMode: false });
  }

  async rotateLogs(policy: LogRotationPolicy): Promise<string[]> {
    checkInteger('rotateLogs', 'maxBytes', policy.maxBytes);
    const rotated: string[] = [];
    for (const c of [...this.host.containers.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      if (c.liveBytes <= policy.maxBytes) continue;
      // One predecessor is kept, as the real rotation keeps `<log>.1`: the older one is dropped.
      c.log = c.log.slice(c.liveStart);
      c.liveStart = c.log.length;
      c.liveBytes = 0;
      rotated.push(c.id);
    }
    return rotated;
  }
}
