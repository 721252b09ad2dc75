// The agent's workqueue: a key is queued once however often it is added, never handed to two workers at once,
// re-queued after its worker finishes when it changed meanwhile, and retried with doubling delays.
import t from 'tap';
import { WorkQueue } from '../../src/agent/workqueue.js';

t.test('adds of a waiting key collapse into one', async (t) => {
  const q = new WorkQueue();
  q.add('a');
  q.add('b');
  q.add('a');
  t.equal(q.length, 2);
  t.equal(await q.get(), 'a');
  t.equal(await q.get(), 'b');
  q.close();
});

t.test('a key added while a worker holds it comes back only after done()', async (t) => {
  const q = new WorkQueue();
  q.add('a');
  const key = await q.get();
  q.add('a');
  t.equal(q.length, 0, 'not handed out twice at once');
  q.done(key ?? '');
  t.equal(q.length, 1, 're-queued once done');
  t.equal(await q.get(), 'a');
  q.close();
});

t.test('a waiting worker gets the next key; close() releases waiters', async (t) => {
  const q = new WorkQueue();
  const waiting = q.get();
  q.add('x');
  t.equal(await waiting, 'x');
  const released = q.get();
  q.close();
  t.equal(await released, undefined);
});

t.test('rate-limited retries double up to the cap and forget resets them', async (t) => {
  const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 40 });
  t.equal(q.addRateLimited('k'), 10);
  t.equal(q.addRateLimited('k'), 20);
  t.equal(q.addRateLimited('k'), 40);
  t.equal(q.addRateLimited('k'), 40, 'capped');
  q.forget('k');
  t.equal(q.addRateLimited('k'), 10, 'reset after success');
  q.close();
});

t.test('of two delayed adds of one key, the earlier wins', async (t) => {
  const q = new WorkQueue();
  // The queue's timers do not hold the process open (the agent's other handles do); here something must.
  const keepAlive = setTimeout(() => undefined, 5_000);
  const started = Date.now();
  q.addAfter('a', 3_000);
  q.addAfter('a', 20);
  q.addAfter('b', 20);
  q.addAfter('b', 3_000);
  t.same([await q.get(), await q.get()].sort(), ['a', 'b']);
  t.ok(Date.now() - started < 2_000, 'neither waited for the later time');
  clearTimeout(keepAlive);
  q.close();
});
