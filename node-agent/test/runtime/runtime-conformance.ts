// The Runtime contract as a test suite (as containerd's testsuites): every implementation, real (ConmonRuntime on
// crun) or fake (FakeRuntime), runs it. It walks the lifecycle runtime.ts documents — create, start, state, list,
// kill, stop, delete — with exit codes and reasons, the stable error codes for missing, duplicate and busy
// containers, logs, exec and attach, and a second instance managing what the first started.
//
// Programs are busybox commands in the subset fake-program.ts understands, so the fake runs the same ones.
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import { RuntimeError } from '../../src/runtime/errors.js';
import type { ContainerState, Runtime } from '../../src/runtime/runtime.js';

/** What the suite needs from an implementation: made fresh for each subtest, cleaned up by its teardown. */
export interface RuntimeFixture {
  readonly runtime: Runtime;
  /** A fresh id whose container can be created (for the real runtime: its rootfs is in place). */
  newId(prefix: string): Promise<string>;
  /** A second instance on the same state (an agent restarted). */
  reopen(): Runtime;
}

/** A code for any failure: a RuntimeError's code, another BerthError's code, or a description. */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => 'resolved',
    (e: unknown) => e,
  );
  if (error === 'resolved') return error;
  if (RuntimeError.isInstance(error)) return error.code;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : `not a RuntimeError: ${String(error)}`;
}

/** Polls the state until `pred` holds (the runtime has no event to wait on); returns the last state seen. */
async function waitFor(
  rt: Runtime,
  id: string,
  pred: (s: ContainerState) => boolean,
  timeoutMs = 10_000,
): Promise<ContainerState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await rt.state(id);
    if (pred(s) || Date.now() > deadline) return s;
    await sleep(20);
  }
}

const exited = (s: ContainerState): boolean => s.status === 'exited';

async function text(stream: Readable): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += String(chunk);
  return out;
}

/** Reads a live stream into a string while a test goes on. */
function collect(stream: Readable): () => string {
  let out = '';
  stream.on('data', (b: Buffer) => (out += b.toString('utf8')));
  return () => out;
}

/** Waits until the container's log holds `line` (how a test knows a trap is installed). */
async function logged(rt: Runtime, id: string, line: string, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await text(rt.logs(id))).split('\n').includes(line)) return true;
    await sleep(20);
  }
  return false;
}

async function until(read: () => string, pattern: RegExp, timeoutMs = 5_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(read()) && Date.now() < deadline) await sleep(20);
  return read();
}

export function runtimeConformance(t: Test, name: string, makeFixture: (t: Test) => Promise<RuntimeFixture>): void {
  t.test(`${name}: create leaves a created container, start runs it, kill ends it, delete forgets it`, async (t) => {
    const { runtime: rt, newId } = await makeFixture(t);
    const id = await newId('rc-life');
    const created = await rt.create(id, { args: ['sleep', '60'] });
    t.equal(created.id, id);
    t.equal(created.status, 'created');
    t.equal(created.startedAt, undefined, 'not started yet');
    t.equal(created.exitCode, undefined);
    t.equal(created.finishedAt, undefined);
    t.equal(created.reason, undefined);
    t.ok(!Number.isNaN(Date.parse(created.createdAt)), 'createdAt is a time');
    t.equal((await rt.state(id)).status, 'created');
    t.ok(
      (await rt.list()).some((s) => s.id === id && s.status === 'created'),
      'list has it',
    );
    t.ok((await rt.ids()).includes(id), 'ids has it');

    const running = await rt.start(id);
    t.equal(running.status, 'running');
    t.ok(typeof running.pid === 'number' && running.pid > 0, 'a running container has a pid');
    t.ok(
      running.startedAt !== undefined && running.startedAt >= running.createdAt,
      'startedAt is set, not before createdAt',
    );
    t.equal(await codeOf(rt.start(id)), 'ContainerRunning', 'start twice is refused');
    t.equal(
      await codeOf(rt.create(id, { args: ['true'] })),
      'ContainerExists',
      'an id is taken while its container exists',
    );
    t.equal((await rt.state(id)).status, 'running', 'the refused create left the container alone');

    await rt.kill(id, 'SIGKILL');
    const done = await waitFor(rt, id, exited);
    t.equal(done.status, 'exited');
    t.equal(done.exitCode, 137, 'killed by SIGKILL is 128+9');
    t.equal(done.reason, 'Error');
    t.equal(done.oomKilled, false);
    t.equal(done.pid, undefined, 'no pid once exited');
    t.ok(
      done.finishedAt !== undefined && running.startedAt !== undefined && done.finishedAt >= running.startedAt,
      'finishedAt is set, not before startedAt',
    );
    t.equal(await codeOf(rt.kill(id, 'SIGKILL')), 'ContainerNotRunning', 'an exited container cannot be signalled');

    await rt.delete(id);
    t.equal(await codeOf(rt.state(id)), 'ContainerNotFound', 'state of a deleted container');
    t.notOk(
      (await rt.list()).some((s) => s.id === id),
      'list no longer has it',
    );
    t.notOk((await rt.ids()).includes(id), 'ids no longer has it');
    await rt.delete(id);
    t.pass('deleting again is not an error');
    const reused = await rt.create(id, { args: ['true'] });
    t.equal(reused.status, 'created', 'the id is free again');
  });

  t.test(`${name}: exit codes come back; 0 is Completed, anything else is Error`, async (t) => {
    const { runtime: rt, newId } = await makeFixture(t);
    const ok = await rt.run(await newId('rc-true'), { args: ['true'] });
    const fails = await rt.run(await newId('rc-exit'), { args: ['sh', '-c', 'exit 3'] });
    const okDone = await waitFor(rt, ok.id, exited);
    t.equal(okDone.exitCode, 0);
    t.equal(okDone.reason, 'Completed');
    const failsDone = await waitFor(rt, fails.id, exited);
    t.equal(failsDone.exitCode, 3);
    t.equal(failsDone.reason, 'Error');
    t.same(
      (await rt.list())
        .filter((s) => s.id === ok.id || s.id === fails.id)
        .map((s) => s.exitCode)
        .sort(),
      [0, 3],
      'list reports the same exits',
    );
  });

  t.test(`${name}: stop sends SIGTERM, then SIGKILL once the grace period is over`, async (t) => {
    const { runtime: rt, newId } = await makeFixture(t);
    // pid 1 without a handler ignores SIGTERM: stop waits out the grace period, then kills.
    const stubborn = await rt.run(await newId('rc-stubborn'), { args: ['sleep', '60'] });
    const t0 = performance.now();
    const s1 = await rt.stop(stubborn.id, 1);
    const took = performance.now() - t0;
    t.equal(s1.status, 'exited');
    t.equal(s1.exitCode, 137);
    t.ok(took >= 1000, `waited the 1 s grace period (${Math.round(took)} ms)`);

    const polite = await rt.run(await newId('rc-polite'), {
      args: ['sh', '-c', 'trap "exit 0" TERM; echo ready; sleep 60 & wait'],
    });
    t.ok(await logged(rt, polite.id, 'ready'), 'the trap is in place');
    const t1 = performance.now();
    const s2 = await rt.stop(polite.id, 30);
    t.equal(s2.exitCode, 0, 'it exited by itself on SIGTERM');
    t.ok(performance.now() - t1 < 10_000, 'without waiting out the grace period');

    const now = await rt.run(await newId('rc-now'), { args: ['sleep', '60'] });
    t.equal((await rt.stop(now.id, 0)).exitCode, 137, 'a 0 grace period kills at once');
    const again = await rt.stop(now.id, 5);
    t.equal(again.exitCode, 137, 'stopping an exited container returns its state');
    t.equal(await codeOf(rt.stop(now.id, -1)), 'InvalidConfig', 'a negative grace period is refused');
  });

  t.test(`${name}: kill delivers the signal; a trapped one ends the process its own way`, async (t) => {
    const { runtime: rt, newId } = await makeFixture(t);
    const st = await rt.run(await newId('rc-usr1'), {
      args: ['sh', '-c', 'trap "exit 7" USR1; echo ready; sleep 60 & wait'],
    });
    t.ok(await logged(rt, st.id, 'ready'), 'the trap is in place');
    await rt.kill(st.id, 'SIGUSR1');
    t.equal((await waitFor(rt, st.id, exited)).exitCode, 7);
    t.equal(await codeOf(rt.kill(st.id, 'SIGTERM')), 'ContainerNotRunning');
  });

  t.test(`${name}: a missing container is ContainerNotFound everywhere but delete`, async (t) => {
    const { runtime: rt, newId } = await makeFixture(t);
    const id = await newId('rc-missing');
    t.equal(await codeOf(rt.state(id)), 'ContainerNotFound', 'state');
    t.equal(await codeOf(rt.start(id)), 'ContainerNotFound', 'start');
    t.equal(await codeOf(rt.kill(id, 'SIGTERM')), 'ContainerNotFound', 'kill');
    t.equal(await codeOf(rt.stop(id, 0)), 'ContainerNotFound', 'stop');
    t.equal(await codeOf(rt.exec(id, { args: ['true'] })), 'ContainerNotFound', 'exec');
    t.equal(await codeOf(rt.attach(id)), 'ContainerNotFound', 'attach');
    t.equal(await codeOf(rt.delete(id)), 'resolved', 'delete of nothing is done');
    t.notOk((await rt.list()).some((s) => s.id === id));
  });

  t.test(`${name}: a config that cannot run is refused at create, leaving nothing behind`, async (t) => {
    const { runtime: rt, newId } = await makeFixture(t);
    const empty = await newId('rc-noargs');
    t.equal(await codeOf(rt.run(empty, { args: [] })), 'InvalidConfig', 'no command');
    t.equal(await codeOf(rt.state(empty)), 'ContainerNotFound');
    t.equal(
      await codeOf(rt.run('Bad/Id', { args: ['true'] })),
      'InvalidConfig',
      'an id that cannot name files and cgroups',
    );
    const tiny = await newId('rc-tiny');
    t.equal(
      await codeOf(rt.run(tiny, { args: ['true'], resources: { memoryBytes: 1024 } })),
      'ImpossibleLimits',
      'a memory limit no process fits in',
    );
    t.equal(await codeOf(rt.state(tiny)), 'ContainerNotFound');
    const missing = await newId('rc-nocmd');
    t.equal(
      await codeOf(rt.run(missing, { args: ['no-such-command'] })),
      'CommandNotFound',
      'a command the image does not have',
    );
    t.equal(await codeOf(rt.state(missing)), 'ContainerNotFound', 'the failed run cleaned up');
  });

  t.test(`${name}: delete refuses a running container unless forced`, async (t) => {
    const { runtime: rt, newId } = await makeFixture(t);
    const st = await rt.run(await newId('rc-busy'), { args: ['sleep', '60'] });
    t.equal(await codeOf(rt.delete(st.id)), 'ContainerRunning');
    t.equal((await rt.state(st.id)).status, 'running', 'still running after the refusal');
    await rt.delete(st.id, { force: true });
    t.equal(await codeOf(rt.state(st.id)), 'ContainerNotFound');
    const created = await rt.create(await newId('rc-created'), { args: ['sleep', '60'] });
    await rt.delete(created.id);
    t.equal(
      await codeOf(rt.state(created.id)),
      'ContainerNotFound',
      'a created, never started container deletes without force',
    );
  });

  t.test(`${name}: logs hold the output; tail and timestamps; a follow ends when the container does`, async (t) => {
    const { runtime: rt, newId } = await makeFixture(t);
    const st = await rt.run(await newId('rc-logs'), {
      args: ['sh', '-c', 'echo one; echo two; echo oops >&2; echo three'],
    });
    await waitFor(rt, st.id, exited);
    const all = await text(rt.logs(st.id));
    t.same(
      all.split('\n').filter((l) => l !== 'oops'),
      ['one', 'two', 'three', ''],
      'stdout in order',
    );
    t.ok(all.split('\n').includes('oops'), 'stderr too');
    t.equal(await text(rt.logs(st.id, { streams: ['stdout'], tailLines: 1 })), 'three\n');
    t.equal(await text(rt.logs(st.id, { streams: ['stderr'] })), 'oops\n');
    t.match(
      await text(rt.logs(st.id, { streams: ['stdout'], tailLines: 1, timestamps: true })),
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z three\n$/,
    );
    t.equal(await text(rt.logs(st.id, { tailLines: 0 })), '');

    const live = await rt.run(await newId('rc-follow'), { args: ['sh', '-c', 'echo n1; sleep 0.5; echo n2'] });
    const t0 = performance.now();
    t.equal(await text(rt.logs(live.id, { follow: true })), 'n1\nn2\n', 'every line, then the end');
    t.ok(performance.now() - t0 >= 300, 'it waited for the line still to come');
    t.equal((await rt.state(live.id)).status, 'exited');
  });

  t.test(`${name}: exec runs in a running container only, with its own stdio and exit code; pids`, async (t) => {
    const { runtime: rt, newId } = await makeFixture(t);
    const created = await rt.create(await newId('rc-exec-created'), { args: ['sleep', '60'] });
    t.equal(await codeOf(rt.exec(created.id, { args: ['true'] })), 'ContainerNotRunning', 'not before start');
    t.equal(await codeOf(rt.pids(created.id)), 'ContainerNotRunning', 'no processes to list before start');
    const st = await rt.run(await newId('rc-exec'), { args: ['sleep', '60'] });
    t.same(await rt.pids(st.id), [st.pid], "pids: the container's one process, by its host pid");
    const echo = await rt.exec(st.id, { args: ['sh', '-c', 'echo hi; echo err >&2; exit 5'] });
    const out = collect(echo.stdout);
    const err = collect(echo.stderr);
    t.equal(await echo.exitCode, 5);
    t.equal(out(), 'hi\n');
    t.equal(err(), 'err\n');
    const cat = await rt.exec(st.id, { args: ['cat'], stdin: true });
    const piped = collect(cat.stdout);
    cat.stdin?.end('through stdin\n');
    t.equal(await cat.exitCode, 0);
    t.equal(piped(), 'through stdin\n');
    const none = await rt.exec(st.id, { args: ['no-such-command'] });
    t.equal(await codeOf(none.exitCode), 'CommandNotFound', 'a missing command fails the session, not the container');
    t.equal((await rt.state(st.id)).status, 'running');
    await rt.stop(st.id, 0);
    t.equal(await codeOf(rt.exec(st.id, { args: ['true'] })), 'ContainerNotRunning', 'not after exit');
  });

  t.test(`${name}: attach reaches the container's own stdin and output; detaching leaves it running`, async (t) => {
    const { runtime: rt, newId } = await makeFixture(t);
    const quiet = await rt.run(await newId('rc-nostdin'), { args: ['sleep', '60'] });
    t.equal(await codeOf(rt.attach(quiet.id, { stdin: true })), 'InvalidConfig', 'no stdin to attach to');
    const st = await rt.run(await newId('rc-attach'), { args: ['cat'], stdin: true });
    const a = await rt.attach(st.id, { stdin: true });
    const out = collect(a.stdout);
    a.stdin?.write('ping\n');
    t.equal(await until(out, /ping\n/), 'ping\n', 'what goes in comes out');
    await a.close();
    t.equal((await rt.state(st.id)).status, 'running', 'detaching leaves the container running');
    const b = await rt.attach(st.id, { stdin: true });
    const out2 = collect(b.stdout);
    b.stdin?.write('again\n');
    t.equal(await until(out2, /again\n/), 'again\n', 'a second attach reaches the same stdin');
    await b.close();
  });

  t.test(`${name}: a second instance sees and manages what the first started`, async (t) => {
    const { runtime: rt, newId, reopen } = await makeFixture(t);
    const st = await rt.run(await newId('rc-reopen'), { args: ['sleep', '60'] });
    const done = await rt.run(await newId('rc-reopen-done'), { args: ['sh', '-c', 'exit 4'] });
    await waitFor(rt, done.id, exited);
    const second = reopen();
    const seen = await second.state(st.id);
    t.equal(seen.status, 'running');
    t.equal(seen.pid, st.pid, 'the same process, not a restart');
    t.same(
      (await second.list())
        .map((s) => s.id)
        .filter((id) => id === st.id || id === done.id)
        .sort(),
      [st.id, done.id].sort(),
    );
    t.equal((await second.state(done.id)).exitCode, 4, 'and the exits the first one saw');
    t.equal((await second.stop(st.id, 0)).exitCode, 137);
    t.equal((await rt.state(st.id)).status, 'exited', 'the first instance sees it too');
  });

  t.test(`${name}: logs rotate past the policy's size and stay readable`, async (t) => {
    const { runtime: rt, newId } = await makeFixture(t);
    t.equal(await codeOf(rt.rotateLogs({ maxBytes: 0 })), 'BERTH_INVALID_ARGUMENT', 'a 0 size is refused');
    const st = await rt.run(await newId('rc-rotate'), {
      args: ['sh', '-c', 'echo first; echo ready; sleep 60 & wait'],
    });
    t.ok(await logged(rt, st.id, 'ready'));
    t.same(await rt.rotateLogs({ maxBytes: 1 << 30 }), [], 'nothing is that large');
    t.ok((await rt.rotateLogs({ maxBytes: 1 })).includes(st.id), 'a log over the size rotates');
    t.equal(await text(rt.logs(st.id)), 'first\nready\n', 'the rotated lines are still read');
  });
}
