// runCommand starts host tools with posix_spawn from this process, with their output, exit status and errors as
// spawn() gives them, and an abort that ends the tool as spawn()'s does.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { commandSpawner, runCommand } from '../../src/host/run-command.js';

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
  t.equal(Number(parent.stdout.trim()), process.pid, 'the tool is a child of this process');
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
  const dir = await mkdtemp(join(tmpdir(), 'berth-run-command-'));
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
