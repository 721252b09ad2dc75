// Real crun (root): exec inside a running container with pipes and with a tty, and attach to its own stdio.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import t from 'tap';
import { isRuntimeError } from '../../src/runtime/errors.js';
import { setUp } from '../runtime/harness.js';

const h = await setUp(t);

function collect(stream: Readable): () => string {
  let text = '';
  stream.on('data', (b: Buffer) => (text += b.toString('utf8')));
  return () => text;
}

async function until(read: () => string, pattern: RegExp, timeoutMs = 5000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(read()) && Date.now() < deadline) await sleep(20);
  return read();
}

t.test("exec ps inside shows the container's own pid 1, and exit codes come back", async (t) => {
  const st = await h.run('exec', { args: ['sleep', '60'], env: { FROM_CONTAINER: 'yes' } });
  const ps = await h.rt.exec(st.id, { args: ['ps', '-o', 'pid,args'] });
  const out = collect(ps.stdout);
  t.equal(await ps.exitCode, 0);
  const lines = out()
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.trim());
  t.match(lines[0], /^1 sleep 60$/, "pid 1 is the container's process");
  t.ok(
    lines.every((l) => Number(l.split(' ')[0]) < 100),
    "only the container's pid namespace is visible",
  );

  const env = await h.rt.exec(st.id, {
    args: ['sh', '-c', 'echo $FROM_CONTAINER $EXTRA; pwd; echo oops >&2; exit 3'],
    env: { EXTRA: 'more' },
    cwd: '/tmp',
  });
  const eo = collect(env.stdout);
  const ee = collect(env.stderr);
  t.equal(await env.exitCode, 3);
  t.equal(eo(), 'yes more\n/tmp\n');
  t.equal(ee(), 'oops\n');

  const cat = await h.rt.exec(st.id, { args: ['cat'], stdin: true });
  const co = collect(cat.stdout);
  cat.stdin?.end('piped through\n');
  t.equal(await cat.exitCode, 0);
  t.equal(co(), 'piped through\n');
});

t.test('exec of a command that does not exist is CommandNotFound', async (t) => {
  const st = await h.run('exec-nf', { args: ['sleep', '60'] });
  const s = await h.rt.exec(st.id, { args: ['no-such-tool'] });
  const err = await s.exitCode.catch((e: unknown) => e);
  t.ok(isRuntimeError(err, 'CommandNotFound'), `got ${String(err)}`);
  await t.rejects(h.rt.exec('exec-none', { args: ['true'] }), { code: 'ContainerNotFound' });
});

t.test('exec with a tty: a real terminal, resizable', async (t) => {
  const st = await h.run('exec-tty', { args: ['sleep', '60'] });
  const s = await h.rt.exec(st.id, { args: ['sh'], tty: true, stdin: true, size: { cols: 100, rows: 30 } });
  const out = collect(s.stdout);
  const err = collect(s.stderr);
  s.stdin?.write('tty; stty size\n');
  t.match(await until(out, /30 100/), /\/dev\/pts\/\d+[\s\S]*30 100/, 'a pty of the asked size');
  await s.resize(132, 43);
  s.stdin?.write('stty size; exit 5\n');
  t.match(await until(out, /43 132/), /43 132/, 'resized');
  t.equal(await s.exitCode, 5);
  t.equal(err(), '', 'nothing on stderr: a tty merges the streams');
});

t.test("attach: the container's own stdin and output", async (t) => {
  const st = await h.run('attach', {
    args: ['sh', '-c', 'while read line; do echo "got $line"; echo "err $line" >&2; done'],
    stdin: true,
  });
  const a = await h.rt.attach(st.id, { stdin: true });
  const out = collect(a.stdout);
  const err = collect(a.stderr);
  await sleep(100);
  a.stdin?.write('hello\n');
  t.equal(await until(out, /got hello/), 'got hello\n');
  t.equal(await until(err, /err hello/), 'err hello\n');
  await a.close();
  await sleep(100);
  t.equal((await h.rt.state(st.id)).status, 'running', 'detaching leaves the container running');
  const again = await h.rt.attach(st.id, { stdin: true });
  const out2 = collect(again.stdout);
  await sleep(100);
  again.stdin?.write('second\n');
  t.equal(await until(out2, /got second/), 'got second\n', 'a second attach still reaches the same stdin');
  await again.close();
});
