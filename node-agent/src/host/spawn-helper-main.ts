// The spawn helper's process: a small Node process that starts the agent's host tools for it. A fork of a process
// of the agent's size blocks its event loop for tens of milliseconds; from this one (no heap to speak of) it is
// cheap, and the agent's loop never waits for it. Imports nothing but node: modules, so it stays small.
import { spawn, type ChildProcess } from 'node:child_process';
import type { HelperReply, HelperRequest, SpawnFailure } from './spawn-helper-protocol.js';

const children = new Map<number, ChildProcess>();

function send(reply: HelperReply): void {
  process.send?.(reply);
}

function failure(err: unknown): SpawnFailure {
  const e = err as NodeJS.ErrnoException;
  return {
    message: e.message,
    ...(e.code !== undefined ? { code: e.code } : {}),
    ...(e.errno !== undefined ? { errno: e.errno } : {}),
    ...(e.syscall !== undefined ? { syscall: e.syscall } : {}),
    ...(e.path !== undefined ? { path: e.path } : {}),
  };
}

function run(req: Extract<HelperRequest, { op: 'run' }>): void {
  const child = spawn(req.file, req.args, {
    stdio: [req.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: req.env,
    ...(req.cwd === undefined ? {} : { cwd: req.cwd }),
  });
  children.set(req.id, child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let failed = false;
  child.stdout?.on('data', (b: Buffer) => out.push(b));
  child.stderr?.on('data', (b: Buffer) => err.push(b));
  child.on('error', (e) => {
    failed = true;
    children.delete(req.id);
    send({ id: req.id, failed: failure(e) });
  });
  child.on('close', (code, signal) => {
    children.delete(req.id);
    if (failed) return;
    const stdout = Buffer.concat(out).toString('utf8');
    send({ id: req.id, code, signal, stdout, stderr: Buffer.concat(err).toString('utf8') });
  });
  // A tool that exits without reading its input must not take the helper down with EPIPE.
  child.stdin?.on('error', () => undefined);
  if (req.input !== undefined) child.stdin?.end(req.input);
}

function sync(req: Extract<HelperRequest, { op: 'sync' }>): void {
  const child = spawn(req.file, req.args, {
    cwd: req.cwd,
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env: req.env,
  });
  child.unref();
  let stderr = '';
  let buf = '';
  let done = false;
  const reply = (r: HelperReply) => {
    if (done) return;
    done = true;
    send(r);
  };
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  child.on('error', (e) => reply({ id: req.id, failed: failure(e) }));
  const pipe = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  pipe.on('data', (b: Buffer) => {
    buf += b.toString('utf8');
    const nl = buf.indexOf('\n');
    if (nl < 0) return;
    pipe.destroy();
    reply({ id: req.id, line: buf.slice(0, nl), stderr });
  });
  // Closed without a line: the tool failed before it forked; all it said is on stderr once it exits.
  pipe.on('end', () => {
    if (buf.trim() !== '') reply({ id: req.id, line: buf, stderr });
    else if (child.exitCode !== null || child.signalCode !== null) reply({ id: req.id, line: '', stderr });
    else child.once('close', () => reply({ id: req.id, line: '', stderr }));
  });
}

process.on('message', (req: HelperRequest) => {
  try {
    if (req.op === 'run') run(req);
    else if (req.op === 'sync') sync(req);
    else children.get(req.id)?.kill('SIGTERM');
  } catch (err) {
    if (req.op !== 'kill') send({ id: req.id, failed: failure(err) });
  }
});
// The agent went away (or closed the channel): so does the helper. Tools already started run on, as they would
// have had the agent spawned them itself.
process.on('disconnect', () => process.exit(0));
