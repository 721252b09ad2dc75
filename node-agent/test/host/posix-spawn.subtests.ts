// posixSpawn: tools started from this process by posix_spawn, with spawn()'s errors, their exit status, stdio on
// pipes, cwd/env/session as asked, and every child reaped (no zombie is left, none holds the process open).
import { readFile } from 'node:fs/promises';
import type net from 'node:net';
import t from 'tap';
import { posixSpawn } from '../../src/host/posix-spawn.js';

function readAll(socket: net.Socket | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    if (socket === undefined) return reject(new Error('no pipe'));
    let text = '';
    socket.on('data', (b: Buffer) => (text += b.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

/** Zombie children of this process, from /proc. */
async function zombies(): Promise<number[]> {
  const children = await readFile(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').catch(() => '');
  const found: number[] = [];
  for (const pid of children.trim().split(' ').filter(Boolean)) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') found.push(Number(pid));
  }
  return found;
}

t.test('posixSpawn runs a tool with its stdio on pipes, its exit status, cwd, env and session', async (t) => {
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', GIVEN: 'yes' };
  const child = await posixSpawn('sh', ['-c', 'echo out $GIVEN; pwd; echo err >&2; echo three >&3; cat; exit 3'], {
    cwd: '/tmp',
    env,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  t.ok(child.pid > 0, 'a pid');
  child.pipes.get(0)?.end('from stdin\n');
  const [out, err, three, status] = await Promise.all([
    readAll(child.pipes.get(1)),
    readAll(child.pipes.get(2)),
    readAll(child.pipes.get(3)),
    child.exited,
  ]);
  t.equal(out, 'out yes\n/tmp\nfrom stdin\n', 'stdout, env, cwd and stdin');
  t.equal(err, 'err\n');
  t.equal(three, 'three\n', 'an extra fd');
  t.same(status, { code: 3, signal: null });

  const killed = await posixSpawn('/bin/sh', ['-c', 'kill -9 $$'], { env, stdio: ['ignore', 'ignore', 'ignore'] });
  t.same(await killed.exited, { code: null, signal: 'SIGKILL' });

  // detached: a session of its own, as spawn()'s detached.
  const session = await posixSpawn('/bin/sh', ['-c', 'ps -o sid= -p $$'], {
    detached: true,
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [sid] = await Promise.all([readAll(session.pipes.get(1)), session.exited]);
  t.equal(Number(sid.trim()), session.pid, 'its own session');

  // Node ignores SIGPIPE; a tool must not inherit that.
  const sigpipe = await posixSpawn('/bin/sh', ['-c', 'grep SigIgn /proc/self/status'], {
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const [ignored] = await Promise.all([readAll(sigpipe.pipes.get(1)), sigpipe.exited]);
  t.equal((BigInt(`0x${ignored.split(/\s+/)[1] ?? '0'}`) >> 12n) & 1n, 0n, 'SIGPIPE at its default');
});

t.test('a tool that cannot start is refused as spawn() reports it', async (t) => {
  await t.rejects(posixSpawn('/nonexistent/tool', [], { stdio: ['ignore', 'ignore', 'ignore'] }), {
    code: 'ENOENT',
    syscall: 'spawn /nonexistent/tool',
    path: '/nonexistent/tool',
  });
  await t.rejects(posixSpawn('no-such-tool-on-path', [], { env: { PATH: '/nonexistent' }, stdio: ['ignore'] }), {
    code: 'ENOENT',
  });
  await t.rejects(posixSpawn('/bin/true', [], { cwd: '/nonexistent/dir', stdio: ['ignore'] }), { code: 'ENOENT' });
});

t.test('many at once each come back with their own output, and none is left a zombie', async (t) => {
  const holding = () => process.getActiveResourcesInfo().filter((r) => r === 'PipeWrap' || r === 'SignalWrap').length;
  const before = holding();
  const runs = Array.from({ length: 30 }, async (_, i) => {
    const child = await posixSpawn('/bin/echo', [String(i)], { stdio: ['ignore', 'pipe', 'ignore'] });
    return Promise.all([readAll(child.pipes.get(1)), child.exited]);
  });
  const results = await Promise.all(runs);
  t.same(
    results.map(([out]) => out),
    results.map((_, i) => `${i}\n`),
  );
  t.ok(
    results.every(([, status]) => status.code === 0),
    'all exited 0',
  );
  t.same(await zombies(), [], 'every child reaped');
  t.equal(holding(), before, 'nothing of them holds the process open');
});
