// The workqueue: a key is queued once however often it is added, never handed to two workers at once, re-queued
// once after its worker finishes when it changed meanwhile, retried with doubling delays up to a cap, and shut
// down without losing work in flight.
import t from 'tap';
import { ExponentialBackoff, InvalidOptionError, WorkQueue, type Timers } from '../src/index.js';

/** A hand-driven clock: delayed adds fire only when the test says so. */
function fakeTimers(): Timers & { pending(): number[]; fire(): void } {
  const timers = new Map<number, { fn: () => void; ms: number }>();
  let next = 0;
  return {
    set(fn, ms) {
      timers.set(++next, { fn, ms });
      return next;
    },
    clear(h) {
      timers.delete(h as number);
    },
    pending: () => [...timers.values()].map((t) => t.ms),
    fire() {
      const all = [...timers.values()];
      timers.clear();
      for (const t of all) t.fn();
    },
  };
}

t.test('adds of a waiting key collapse into one', async (t) => {
  const q = new WorkQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  t.equal(q.length, 2);
  t.equal(await q.get(), 'a');
  t.equal(await q.get(), 'b');
});

t.test('a key re-added while processing is processed again exactly once, after done()', async (t) => {
  const q = new WorkQueue();
  q.add('a');
  const key = await q.get();
  q.add('a');
  q.add('a');
  t.equal(q.length, 0, 'not handed out twice at once');
  q.done(key ?? '');
  t.equal(q.length, 1, 're-queued once when done');
  t.equal(await q.get(), 'a');
  q.done('a');
  t.equal(q.length, 0, 'and not again');
});

t.test('a waiting worker gets the next key', async (t) => {
  const q = new WorkQueue();
  const waiting = q.get();
  q.add('x');
  t.equal(await waiting, 'x');
});

t.test('back-off doubles per failure of a key, stops at the cap, and forget resets it', async (t) => {
  const timers = fakeTimers();
  const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 45, timers });
  t.same(
    [1, 2, 3, 4, 5].map(() => q.addRateLimited('a')),
    [10, 20, 40, 45, 45],
  );
  t.equal(q.numRequeues('a'), 5);
  t.equal(q.addRateLimited('b'), 10, 'per key');
  q.forget('a');
  t.equal(q.numRequeues('a'), 0);
  t.equal(q.addRateLimited('a'), 10, 'starts over after forget');
});

t.test('addAfter adds when its time comes, and the earlier of two delayed adds wins', async (t) => {
  const timers = fakeTimers();
  const q = new WorkQueue({ timers });
  q.addAfter('a', 500);
  q.addAfter('a', 100);
  q.addAfter('a', 900);
  t.same(timers.pending(), [100], 'one timer, the earliest');
  t.equal(q.length, 0);
  timers.fire();
  t.equal(q.length, 1);
  t.equal(await q.get(), 'a');
});

t.test('a real delayed add arrives', async (t) => {
  const q = new WorkQueue({ baseDelayMs: 1, maxDelayMs: 5 });
  const started = Date.now();
  q.addAfter('k', 30);
  t.equal(await q.get(), 'k');
  t.ok(Date.now() - started >= 25, 'not before its time');
});

t.test('bad back-off options throw an InvalidOptionError before anything runs', async (t) => {
  for (const options of [
    { baseDelayMs: 0 },
    { baseDelayMs: -1 },
    { baseDelayMs: Number.NaN },
    { baseDelayMs: 10, maxDelayMs: 5 },
    { maxDelayMs: Infinity },
  ]) {
    let thrown: unknown;
    try {
      new WorkQueue(options);
    } catch (err) {
      thrown = err;
    }
    t.ok(InvalidOptionError.isInstance(thrown), `${JSON.stringify(options)} is refused`);
    t.match(thrown, { code: 'BERTH_CONTROLLER_INVALID_OPTION', name: 'InvalidOptionError' });
  }
  t.doesNotThrow(() => new ExponentialBackoff({ baseDelayMs: 5, maxDelayMs: 5 }));
});

t.test(
  'shutDown waits for keys in flight, drains queued ones, drops delayed ones and releases waiting workers',
  async (t) => {
    const timers = fakeTimers();
    const q = new WorkQueue({ timers });
    q.add('busy');
    q.add('queued');
    t.equal(await q.get(), 'busy');
    q.addAfter('later', 1000);
    let finished = false;
    const down = q.shutDown().then(() => (finished = true));
    q.add('too-late');
    t.same(timers.pending(), [], 'delayed adds dropped');
    t.equal(await q.get(), 'queued', 'queued keys are still handed out');
    q.done('busy');
    await Promise.resolve();
    t.equal(finished, false, 'still one key in flight');
    q.done('queued');
    await down;
    t.equal(await q.get(), undefined, 'then workers are told to stop');
  },
);

t.test('shutDown without drain drops queued keys and returns once in-flight ones are done', async (t) => {
  const q = new WorkQueue();
  q.add('busy');
  q.add('queued');
  const waiter = (await q.get()) ?? '';
  const down = q.shutDown({ drain: false });
  t.equal(await q.get(), undefined);
  q.done(waiter);
  await down;
  t.equal(q.length, 0);
});
