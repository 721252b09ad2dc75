// Runs a process inside a running container (`crun exec`), with plain pipes or, for a tty, a pty whose master crun hands over.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { RuntimeError } from '../runtime/errors.js';
import type { OciProcess } from '../runtime/oci-spec.js';
import type { ExecOptions, StdioSession } from '../runtime/runtime.js';
import { parseExecUser, resolveExecUser, type ProcessUser } from './exec-user.js';
import { CONSOLE_BRIDGE } from './socket-bridges.js';

export interface ExecTarget {
  readonly id: string;
  /** crun or runc */
  readonly runtimePath: string;
  /** The runtime's `--root` state directory. */
  readonly runtimeRoot: string;
  /** Where the per-exec process.json and console socket go. */
  readonly containerDir: string;
  /** The container's own process, which the exec'd one inherits (user, capabilities, rlimits, env). */
  readonly containerProcess: OciProcess;
  /** The container's root filesystem as this host reaches it (where `user` names are looked up). */
  readonly rootfs: string;
  /** Needed for tty sessions only. */
  readonly python: string | undefined;
}

function execProcess(base: OciProcess, options: ExecOptions, user: ProcessUser | undefined): OciProcess {
  const env = new Map<string, string>();
  for (const kv of base.env) {
    const i = kv.indexOf('=');
    env.set(i < 0 ? kv : kv.slice(0, i), i < 0 ? '' : kv.slice(i + 1));
  }
  if (options.tty === true && !env.has('TERM')) env.set('TERM', 'xterm');
  for (const [k, v] of Object.entries(options.env ?? {})) env.set(k, v);
  const { consoleSize: _ignored, ...rest } = base;
  return {
    ...rest,
    terminal: options.tty === true,
    args: options.args,
    env: [...env].map(([k, v]) => `${k}=${v}`),
    cwd: options.cwd ?? base.cwd,
    ...(user === undefined ? {} : { user: { ...base.user, ...user } }),
    // crun applies it right after letting the process run, not before (runc sets it in the child): a command that
    // reads the size in its first instant can see 0x0, then gets SIGWINCH once the size lands.
    ...(options.tty === true && options.size !== undefined
      ? { consoleSize: { height: options.size.rows, width: options.size.cols } }
      : {}),
  };
}

/** crun's words when argv[0] cannot be found or run; stable across crun 1.x. */
const NOT_FOUND =
  /executable file `[^`]*` not found|exec(?:utable)?[^\n]*: No such file or directory|: Permission denied/;

function exitCodeOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.on('error', (err) =>
      reject(new RuntimeError('RuntimeFailed', `exec could not start: ${err.message}`, { cause: err })),
    );
    child.on('close', (code, signal) => {
      resolve(code ?? 128 + (signal === null ? 0 : signalNumber(signal)));
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  const map: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 };
  return map[signal] ?? 0;
}

/**
 * Watches the runtime's stderr for "executable not found" while passing everything through, so the
 * exit code can be turned into a CommandNotFound error without losing what the user should see.
 */
function sniffNotFound(source: NodeJS.ReadableStream, sink: PassThrough): () => string | undefined {
  let head = '';
  let found: string | undefined;
  source.on('data', (chunk: Buffer) => {
    if (head.length < 4096) {
      head += chunk.toString('utf8');
      const m = NOT_FOUND.exec(head);
      if (m !== null && found === undefined)
        found = head
          .split('\n')
          .find((l) => NOT_FOUND.test(l))
          ?.trim();
    }
  });
  source.pipe(sink);
  return () => found;
}

export async function execInContainer(target: ExecTarget, options: ExecOptions): Promise<StdioSession> {
  if (options.args.length === 0 || options.args[0] === '')
    throw new RuntimeError('InvalidConfig', 'exec needs a command');
  if (options.cwd !== undefined && !path.isAbsolute(options.cwd))
    throw new RuntimeError('InvalidConfig', 'exec cwd must be absolute');
  const tty = options.tty === true;
  if (tty && target.python === undefined) {
    throw new RuntimeError('HostNotReady', 'tty exec needs python3 (Debian python3) to receive the pty from crun');
  }
  let user: ProcessUser | undefined;
  if (options.user !== undefined) {
    const spec = parseExecUser(options.user);
    if (spec === undefined)
      throw new RuntimeError('InvalidConfig', `exec user ${JSON.stringify(options.user)} is not USER[:GROUP]`);
    user = await resolveExecUser(target.rootfs, spec);
  }
  const token = randomBytes(6).toString('hex');
  const processFile = path.join(target.containerDir, `exec-${token}.json`);
  await writeFile(processFile, JSON.stringify(execProcess(target.containerProcess, options, user)));
  const runtimeArgs = [`--root=${target.runtimeRoot}`, 'exec', '--process', processFile];

  let child: ChildProcess;
  let control: NodeJS.WritableStream | undefined;
  if (tty) {
    const socketPath = path.join(target.containerDir, `console-${token}.sock`);
    child = spawn(
      target.python ?? 'python3',
      [
        '-c',
        CONSOLE_BRIDGE,
        socketPath,
        target.runtimePath,
        ...runtimeArgs,
        '--tty',
        `--console-socket=${socketPath}`,
        target.id,
      ],
      {
        stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
      },
    );
    control = (child.stdio[3] ?? undefined) as NodeJS.WritableStream | undefined;
  } else {
    child = spawn(target.runtimePath, [...runtimeArgs, target.id], {
      stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
  }
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  child.stdout?.pipe(stdout);
  const notFound = sniffNotFound(child.stderr ?? new PassThrough(), stderr);
  const exited = exitCodeOf(child).finally(() => rm(processFile, { force: true }));
  const exitCode = exited.then((code) => {
    const line = notFound();
    if (line !== undefined && (code === 255 || code === 127 || code === 126)) {
      throw new RuntimeError(
        'CommandNotFound',
        `${options.args[0] ?? ''}: command not found in the container (${line})`,
      );
    }
    return code;
  });
  // Errors surface through exitCode; this keeps an unobserved rejection from crashing the agent.
  exitCode.catch(() => undefined);

  return {
    stdin: child.stdin ?? undefined,
    stdout,
    stderr,
    async resize(cols: number, rows: number): Promise<void> {
      if (control === undefined) return;
      checkTerminalSize(cols, rows);
      control.write(`${cols} ${rows}\n`);
    },
    exitCode,
    async close(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin?.end();
        // For a tty the bridge's death closes the master: the process gets SIGHUP, as on a closed terminal.
        child.kill('SIGTERM');
      }
      await exited.catch(() => undefined);
    },
  };
}

/** A terminal size a pty accepts (16-bit columns and rows); anything else is the caller's error. */
export function checkTerminalSize(cols: number, rows: number): void {
  if (!Number.isInteger(cols) || !Number.isInteger(rows) || cols <= 0 || rows <= 0 || cols > 65535 || rows > 65535) {
    throw new RuntimeError('InvalidConfig', `terminal size ${cols}x${rows} is not valid`);
  }
}
