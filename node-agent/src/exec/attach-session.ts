// Connects to a running container's own stdio through conmon's attach socket, and resizes its terminal via conmon's ctl fifo.
import { spawn } from 'node:child_process';
import { constants, type FileHandle, open } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { RuntimeError } from '../runtime/errors.js';
import type { StdioSession } from '../runtime/runtime.js';
import { ATTACH_BRIDGE } from './socket-bridges.js';
import { checkTerminalSize } from './exec-session.js';

export interface AttachTarget {
  /** conmon's attach socket (`<socket-dir>/<id>/attach`). */
  readonly socketPath: string;
  /** conmon's control fifo (`<bundle>/ctl`). */
  readonly ctlPath: string;
  readonly tty: boolean;
  readonly python: string | undefined;
}

/** Sends one control message to conmon ("1 rows cols" resizes, "2 0 0" reopens the log). */
export async function writeConmonControl(ctlPath: string, message: string): Promise<boolean> {
  let handle: FileHandle;
  try {
    // Non-blocking: with no conmon reading (it exited) open fails with ENXIO instead of hanging.
    handle = await open(ctlPath, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO' || (err as NodeJS.ErrnoException).code === 'ENOENT')
      return false;
    throw err;
  }
  try {
    await handle.write(message);
    return true;
  } finally {
    await handle.close();
  }
}

export async function attachToContainer(
  target: AttachTarget,
  options: { readonly stdin?: boolean } = {},
): Promise<StdioSession> {
  if (target.python === undefined)
    throw new RuntimeError(
      'HostNotReady',
      "attach needs python3 (Debian python3) to speak to conmon's seqpacket socket",
    );
  const child = spawn(target.python, ['-c', ATTACH_BRIDGE, target.socketPath, options.stdin === true ? '1' : '0'], {
    stdio: [options.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  child.stdout?.pipe(stdout);
  child.stderr?.pipe(stderr);
  const exitCode = new Promise<number>((resolve, reject) => {
    child.on('error', (err) =>
      reject(new RuntimeError('RuntimeFailed', `attach could not start: ${err.message}`, { cause: err })),
    );
    child.on('close', (code) => resolve(code ?? 0));
  });
  exitCode.catch(() => undefined);
  return {
    stdin: child.stdin ?? undefined,
    stdout,
    stderr,
    async resize(cols: number, rows: number): Promise<void> {
      if (!target.tty) return;
      checkTerminalSize(cols, rows);
      await writeConmonControl(target.ctlPath, `1 ${rows} ${cols}\n`);
    },
    exitCode,
    async close(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exitCode.catch(() => undefined);
    },
  };
}
