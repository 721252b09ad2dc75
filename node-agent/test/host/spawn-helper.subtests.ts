// runCommand starts host tools with posix_spawn from this process, with their output, exit status and errors as
// spawn() gives them. The spawn helper (BERTH_SPAWN=helper) runs them in its small process with the same results; a
// helper that dies fails only what it had in flight, and an idle helper keeps no process alive.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { commandSpawner, runCommand } from '../../src/host/run-command.js';
import { SpawnHelperError, spawnHelper } from '../../src/host/spawn-helper.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; !(await cond()); ) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('runCommand runs tools from this process, with their output, exit status and input', async (t) => {
  t.equal(commandSpawner, 'posix-spawn', 'posix_spawn by default');
  const parent = await runCommand('/bin/sh', ['-c', 'echo $PPID']);
  t.equal(Number(parent.stdout.trim()), process.pid, 'the tool is a child of this process: no helper');
  t.same(await runCommand('/bin/sh', ['-c', 'echo out; echo err >&2; exit 3']), {
    code: 3,
    signal: null,
    stdout: 'out\n',
    stderr: 'err\n',
  });
  t.equal((await runCommand('/bin/cat', [], { input: 'to stdin' })).stdout, 'to stdin');
  t.equal((await runCommand('/bin/sh', ['-c', 'echo $X'], { env: { X: 'given' } })).stdout, 'given\n');
  t.equal((await runCommand('/bin/pwd', [], { cwd: '/tmp' })).stdout, '/tmp\n');
  const killed = await runCommand('/bin/sh', ['-c', 'kill -9 $$']);
  t.equal(killed.signal, 'SIGKILL');
  await t.rejects(runCommand('/nonexistent/tool', []), { code: 'ENOENT', syscall: 'spawn /nonexistent/tool' });
  // Many at once all come back, each with its own answer.
  const many = await Promise.all(Array.from({ length: 30 }, (_, i) => runCommand('/bin/echo', [String(i)])));
  t.same(
    many.map((r) => r.stdout),
    many.map((_, i) => `${i}\n`),
  );
});

t.test('an abort rejects as spawn() does and ends the tool', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-spawn-helper-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pidFile = join(dir, 'pid');
  const ac = new AbortController();
  const run = runCommand('/bin/sh', ['-c', `echo $$ > ${pidFile}; exec sleep 60`], { signal: ac.signal });
  let pid = 0;
  await until('the tool wrote its pid', async () => {
    pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    return pid > 0;
  });
  ac.abort();
  await t.rejects(run, { name: 'AbortError' });
  await until('the tool is gone', () => !alive(pid));
  await t.rejects(runCommand('/bin/true', [], { signal: AbortSignal.abort() }), { name: 'AbortError' });
});

// The process's shared helper throughout: each new helper costs a Node start (under tsx here).
t.test('the helper runs tools in its process, starts conmon, and a helper that dies', async (t) => {
  const helper = spawnHelper();
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
  const parent = await helper.run('/bin/sh', ['-c', 'echo $PPID']);
  const ppid = Number(parent.stdout.trim());
  t.equal(ppid, helper.pid, "the tool is the helper's child");
  t.match(await readFile(`/proc/${ppid}/cmdline`, 'utf8'), /spawn-helper-main/);
  t.same(await helper.run('/bin/sh', ['-c', 'echo out; echo err >&2; exit 3']), {
    code: 3,
    signal: null,
    stdout: 'out\n',
    stderr: 'err\n',
  });
  t.equal((await helper.run('/bin/cat', [], { input: 'to stdin' })).stdout, 'to stdin');
  // A detached tool reports its first line on fd 3, or all of stderr when it closes it without a word.
  t.same(
    await helper.startWithSyncPipe('/bin/sh', ['-c', 'echo \'{"pid": 1}\' >&3; echo later >&3'], { cwd: '/', env }),
    { line: '{"pid": 1}', stderr: '' },
  );
  t.same(await helper.startWithSyncPipe('/bin/sh', ['-c', 'echo bad flag >&2; exit 1'], { cwd: '/', env }), {
    line: '',
    stderr: 'bad flag\n',
  });
  await t.rejects(helper.startWithSyncPipe('/nonexistent/conmon', [], { cwd: '/', env }), { code: 'ENOENT' });
  // Killed with a request in flight: that request fails, the next one starts another helper.
  const first = helper.pid!;
  const inFlight = helper.run('/bin/sleep', ['30']).then(
    () => undefined,
    (err: unknown) => err,
  );
  process.kill(first, 'SIGKILL');
  const err = await inFlight;
  t.ok(SpawnHelperError.isInstance(err) && err.code === 'HelperExited', 'HelperExited');
  t.equal((await helper.run('/bin/echo', ['again'])).stdout, 'again\n');
  t.not(helper.pid, first, 'a new helper');
});

t.test('an idle helper keeps no process alive, and goes when its channel closes', async (t) => {
  const helper = spawnHelper();
  const held = () => process.getActiveResourcesInfo().filter((r) => r === 'ProcessWrap').length;
  const before = held();
  const running = helper.run('/bin/sleep', ['0.2']);
  t.equal(held(), before + 1, 'a request in flight holds the process open, as a child of its own would');
  await running;
  t.equal(held(), before, 'idle, it holds nothing');
  const pid = helper.pid!;
  // The channel closes when the agent's process ends, as here when the agent closes it.
  helper.close();
  await until('the helper left', () => !alive(pid));
});
