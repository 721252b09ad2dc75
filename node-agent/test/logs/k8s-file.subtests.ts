// The k8s-file log reader: partial lines, tail, since, timestamps, follow across rotation; and rotation of a live conmon log.
import { appendFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import {
  createLogStream,
  normalizeLogTime,
  parseLogRecord,
  readLogEntries,
  type LogEntry,
} from '../../src/logs/k8s-file.js';
import { rotatedLogPath } from '../../src/logs/rotation.js';
import { setUp } from '../runtime/harness.js';

const dir = await mkdtemp(path.join(os.tmpdir(), 'berth-logs-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

function ts(msAgo: number, nanos = '123456789'): string {
  return `${new Date(Date.now() - msAgo).toISOString().slice(0, 19)}.${nanos}+00:00`;
}

async function all(files: string[], options = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of readLogEntries(files, options)) out.push(e);
  return out;
}

async function eventuallyTrue(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let s = '';
  for await (const chunk of stream) s += String(chunk);
  return s;
}

t.test('records parse; times become UTC with nanoseconds', async (t) => {
  t.same(parseLogRecord('2026-11-25T16:58:53.806763548+00:00 stderr P part one'), {
    time: '2026-11-25T16:58:53.806763548+00:00',
    stream: 'stderr',
    partial: true,
    text: 'part one',
  });
  t.equal(parseLogRecord('garbage'), undefined);
  t.equal(normalizeLogTime('2026-11-25T18:58:53.8067+02:00').iso, '2026-11-25T16:58:53.806700000Z');
});

t.test('partial records join per stream; tail counts whole lines; since and timestamps', async (t) => {
  const log = path.join(dir, 'a.log');
  await writeFile(
    log,
    [
      `${ts(60_000)} stdout F old line`,
      `${ts(5_000)} stdout P hello `,
      `${ts(5_000)} stderr F interleaved error`,
      `${ts(4_000)} stdout P big `,
      `${ts(4_000)} stdout F world`,
      `${ts(1_000)} stdout F last`,
      `${ts(500)} stdout F incomplete-without-newline`,
    ].join('\n'),
  );
  const entries = await all([rotatedLogPath(log), log]);
  t.same(
    entries.map((e) => [e.stream, e.text]),
    [
      ['stdout', 'old line'],
      ['stderr', 'interleaved error'],
      ['stdout', 'hello big world'],
      ['stdout', 'last'],
    ],
    'a record still being written (no newline) is not returned yet',
  );
  t.same(
    (await all([log], { tailLines: 2 })).map((e) => e.text),
    ['hello big world', 'last'],
  );
  t.same(
    (await all([log], { tailLines: 0 })).map((e) => e.text),
    [],
  );
  t.same(
    (await all([log], { sinceSeconds: 10 })).map((e) => e.text),
    ['interleaved error', 'hello big world', 'last'],
  );
  t.same(
    (await all([log], { streams: ['stderr'] })).map((e) => e.text),
    ['interleaved error'],
  );
  const body = await text(createLogStream([log], { tailLines: 1, timestamps: true }));
  t.match(body, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.123456789Z last\n$/);
  t.equal(await text(createLogStream([log], { tailLines: 1 })), 'last\n');
});

t.test("a last line without a newline (conmon's final P record) is returned, without a newline", async (t) => {
  const log = path.join(dir, 'unended.log');
  await writeFile(log, `${ts(2000)} stdout F first\n${ts(1000)} stdout P prompt> \n${ts(1000)} stdout P  more\n`);
  t.same(
    (await all([log])).map((e) => [e.text, e.partial === true]),
    [
      ['first', false],
      ['prompt>  more', true],
    ],
  );
  t.equal(await text(createLogStream([log])), 'first\nprompt>  more', 'the body ends as the output did');
  t.equal(await text(createLogStream([log], { tailLines: 1 })), 'prompt>  more');
  let done = false;
  const seen: string[] = [];
  const reader = (async () => {
    for await (const e of createLogStream([log], { follow: true, pollMs: 10, until: async () => done }))
      seen.push(String(e));
  })();
  await eventuallyTrue(() => seen.join('') === 'first\nprompt>  more');
  await appendFile(log, `${ts(0)} stdout F  end\n`);
  done = true;
  await reader;
  t.equal(seen.join(''), 'first\nprompt>  more end\n', 'a follower sees the open line at once and its end later');
});

t.test('tail reaches into the rotated file when the live one is short', async (t) => {
  const log = path.join(dir, 'b.log');
  await writeFile(rotatedLogPath(log), `${ts(3000)} stdout F one\n${ts(2000)} stdout F two\n`);
  await writeFile(log, `${ts(1000)} stdout F three\n`);
  t.same(
    (await all([rotatedLogPath(log), log], { tailLines: 2 })).map((e) => e.text),
    ['two', 'three'],
  );
  t.same(
    (await all([rotatedLogPath(log), log])).map((e) => e.text),
    ['one', 'two', 'three'],
  );
});

t.test('follow: new lines as they come, across a rotation, until done', async (t) => {
  const log = path.join(dir, 'c.log');
  await writeFile(log, `${ts(100)} stdout F first\n`);
  let done = false;
  const seen: string[] = [];
  const reader = (async () => {
    for await (const e of readLogEntries([rotatedLogPath(log), log], {
      follow: true,
      pollMs: 20,
      until: async () => done,
    }))
      seen.push(e.text);
  })();
  await sleep(100);
  await appendFile(log, `${ts(0)} stdout F second\n`);
  await sleep(100);
  await rename(log, rotatedLogPath(log));
  await appendFile(rotatedLogPath(log), `${ts(0)} stdout F late-into-old\n`);
  await writeFile(log, `${ts(0)} stdout F after-rotation\n`);
  await sleep(150);
  done = true;
  await reader;
  t.same(seen, ['first', 'second', 'late-into-old', 'after-rotation']);

  const ac = new AbortController();
  const aborted: string[] = [];
  const r2 = (async () => {
    for await (const e of readLogEntries([log], { follow: true, pollMs: 20, signal: ac.signal })) aborted.push(e.text);
  })();
  await sleep(60);
  ac.abort();
  await r2;
  t.same(aborted, ['after-rotation'], 'abort ends a follow');
});

t.test('rotation of a live conmon log keeps the old lines and the container keeps logging', async (t) => {
  const h = await setUp(t);
  const st = await h.run('rotate', {
    args: ['sh', '-c', 'i=0; while true; do echo "line $i"; i=$((i+1)); sleep 0.01; done'],
  });
  const logs = h.rt.logFiles(st.id);
  const follow: string[] = [];
  let done = false;
  const reader = (async () => {
    for await (const e of readLogEntries(logs, { follow: true, pollMs: 20, until: async () => done }))
      follow.push(e.text);
  })();
  while ((await readFile(h.rt.logPath(st.id), 'utf8')).length <= 1000) await sleep(20);
  const rotated = await h.rt.rotateLogs({ maxBytes: 1000 });
  t.same(rotated, [st.id]);
  while (!/line \d+/.test(await readFile(h.rt.logPath(st.id), 'utf8').catch(() => ''))) await sleep(20);
  t.match(await readFile(h.rt.logPath(st.id), 'utf8'), /line \d+/, 'conmon writes a fresh file');
  t.ok((await readFile(rotatedLogPath(h.rt.logPath(st.id)), 'utf8')).includes('line 0'), 'the old lines are in .1');
  await h.rt.stop(st.id, 0);
  done = true;
  await reader;
  const numbers = follow.map((l) => Number(l.split(' ')[1]));
  t.ok(numbers.length > 20);
  t.same(
    numbers,
    numbers.map((_, i) => i),
    'a follower saw every line once, in order, across the rotation',
  );
  t.same(await h.rt.rotateLogs({ maxBytes: 1 << 20 }), [], 'small logs are left alone');
});
