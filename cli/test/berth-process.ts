// Runs `berth` as a user would (a process, its exit code and output), against a test cluster's kubeconfig;
// `berthInTerminal` runs it under util-linux script(1), whose pty stands in for a user's terminal. It runs the built
// CLI (testkit's berthMain), checked to be newer than its source.

import { spawn } from 'node:child_process';
import { assertBuilt, berthMain, repo, type TestServer } from '@berth/testkit';

export { berthMain, repo };
assertBuilt();
const berthCommand = [berthMain];

export interface BerthRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const envFor = (server: TestServer) => ({
  ...process.env,
  KUBECONFIG: server.kubeconfig,
  HOME: server.dir,
  NO_COLOR: '1',
});

/** `berth ARGS`; stdin gets `input` (or nothing). Killed after `timeoutMs`. */
export function berth(
  server: TestServer,
  args: readonly string[],
  options: { input?: string; timeoutMs?: number; cwd?: string; env?: Record<string, string> } = {},
): Promise<BerthRun> {
  const child = spawn(process.execPath, [...berthCommand, ...args], {
    cwd: options.cwd ?? repo,
    env: { ...envFor(server), ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdin.end(options.input);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal === null ? -1 : 128), stdout, stderr });
    }),
  );
}

export interface BackgroundRun {
  /** What it printed on stdout so far. */
  output(): string;
  /** Interrupts it (SIGINT, as Ctrl-C) and resolves once it has exited. */
  stop(): Promise<BerthRun>;
  /** Resolves once it has exited by itself (or was stopped). */
  readonly exited: Promise<BerthRun>;
}

/** `berth ARGS` left running (a follow), for the test to read as it goes and stop when it has seen enough. */
export function berthBackground(
  server: TestServer,
  args: readonly string[],
  options: { cwd?: string } = {},
): BackgroundRun {
  const child = spawn(process.execPath, [...berthCommand, ...args], { cwd: options.cwd ?? repo, env: envFor(server) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdin.end();
  const exited = new Promise<BerthRun>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? (signal === null ? -1 : 128), stdout, stderr })),
  );
  return {
    exited,
    output: () => stdout,
    stop: () => {
      child.kill('SIGINT');
      const hard = setTimeout(() => child.kill('SIGKILL'), 10_000);
      return exited.finally(() => clearTimeout(hard));
    },
  };
}

export interface TerminalSession {
  /** What the terminal showed so far. */
  output(): string;
  /** Types into the terminal. */
  type(text: string): void;
  readonly done: Promise<BerthRun>;
}

/** `berth ARGS` on a pty of `cols`×`rows` (script -qec); the session's exit code is berth's. */
export function berthInTerminal(
  server: TestServer,
  args: readonly string[],
  size = { cols: 91, rows: 33 },
  timeoutMs = 120_000,
): TerminalSession {
  const quoted = [process.execPath, ...berthCommand, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', `stty cols ${size.cols} rows ${size.rows}; exec ${quoted}`, '/dev/null'], {
    cwd: repo,
    env: envFor(server),
  });
  let stdout = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stdout += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<BerthRun>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.end();
      resolve({ code: code ?? -1, stdout, stderr: '' });
    }),
  );
  return { output: () => stdout, type: (text) => child.stdin.write(text), done };
}
