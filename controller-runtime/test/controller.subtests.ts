// The reconcile loop with a fake reconciler: errors retry with growing back-off, a TerminalError is reported and
// not retried, requeueAfter comes back after its delay, workers never share a key, and stop aborts the signal
// and waits for reconciles in flight.
import t from 'tap';
import {
  Controller,
  ExponentialBackoff,
  InvalidOptionError,
  TerminalError,
  type Outcome,
  type RateLimiter,
  type Request,
} from '../src/index.js';
import { eventually } from './harness.js';

/** Resolves with the first value `observe` reports that satisfies `pred`. */
function outcomes(c: Controller): {
  seen: Array<[string, Outcome]>;
  next(pred: (n: number) => boolean): Promise<void>;
} {
  const seen: Array<[string, Outcome]> = [];
  const waiters: Array<() => void> = [];
  c.observe((req, outcome) => {
    seen.push([req.name, outcome]);
    for (const w of waiters.splice(0)) w();
  });
  return {
    seen,
    async next(pred) {
      while (!pred(seen.length)) await new Promise<void>((r) => waiters.push(r));
    },
  };
}

class RecordingLimiter implements RateLimiter {
  readonly inner = new ExponentialBackoff({ baseDelayMs: 10, maxDelayMs: 1000 });
  readonly delays: number[] = [];
  readonly forgotten: string[] = [];
  when(key: string): number {
    const d = this.inner.when(key);
    this.delays.push(d);
    return d;
  }
  forget(key: string): void {
    this.forgotten.push(key);
    this.inner.forget(key);
  }
  retries(key: string): number {
    return this.inner.retries(key);
  }
}

t.test('an error is retried after a back-off that grows, and success forgets it', async (t) => {
  const limiter = new RecordingLimiter();
  const at: number[] = [];
  const c = new Controller({
    name: 'flaky',
    rateLimiter: limiter,
    reconciler: async () => {
      at.push(Date.now());
      if (at.length <= 3) throw new Error(`attempt ${at.length} failed`);
    },
  });
  const o = outcomes(c);
  c.start();
  c.enqueue({ namespace: 'ns', name: 'a' });
  await o.next((n) => n >= 4);
  t.same(
    o.seen.map(([, out]) => out),
    ['error', 'error', 'error', 'success'],
  );
  t.same(limiter.delays, [10, 20, 40], 'per-key exponential back-off');
  for (let i = 1; i < 4; i++) t.ok(at[i]! - at[i - 1]! >= limiter.delays[i - 1]! - 2, `retry ${i} waited its back-off`);
  t.equal(c.queue.numRequeues('ns/a'), 0, 'forgotten after success');
  await c.stop();
});

t.test('a TerminalError is reported and not retried', async (t) => {
  const limiter = new RecordingLimiter();
  const terminal: Array<[Request, TerminalError]> = [];
  let calls = 0;
  const c = new Controller({
    name: 'gives-up',
    rateLimiter: limiter,
    onTerminal: (req, err) => terminal.push([req, err]),
    reconciler: async () => {
      calls += 1;
      throw new TerminalError('spec.image is not a valid reference');
    },
  });
  const o = outcomes(c);
  c.start();
  c.enqueue({ name: 'bad' });
  await o.next((n) => n >= 1);
  t.same(o.seen, [['bad', 'terminal']]);
  t.equal(terminal.length, 1);
  t.same(terminal[0]![0], { name: 'bad' });
  t.equal(terminal[0]![1].code, 'BERTH_RECONCILE_TERMINAL');
  t.same(limiter.delays, [], 'no retry was scheduled');
  t.same(limiter.forgotten, ['bad'], 'its back-off was forgotten');
  t.equal(c.queue.length, 0);
  // A later change enqueues it again: terminal is about this attempt, not the key forever.
  c.enqueue({ name: 'bad' });
  await o.next((n) => n >= 2);
  t.equal(calls, 2);
  await c.stop();
});

t.test('a TerminalError wrapped as the cause of another error is terminal too', async (t) => {
  const limiter = new RecordingLimiter();
  const c = new Controller({
    name: 'wraps',
    rateLimiter: limiter,
    reconciler: async () => {
      throw new Error('applying the spec', { cause: new TerminalError('the image reference is malformed') });
    },
  });
  const o = outcomes(c);
  c.start();
  c.enqueue({ name: 'w' });
  await o.next((n) => n >= 1);
  t.same(o.seen, [['w', 'terminal']]);
  t.same(limiter.delays, []);
  await c.stop();
});

t.test('requeueAfter reconciles the key again after the delay, as a success', async (t) => {
  const limiter = new RecordingLimiter();
  const at: number[] = [];
  const c = new Controller({
    name: 'poller',
    rateLimiter: limiter,
    reconciler: {
      async reconcile() {
        at.push(Date.now());
        return at.length === 1 ? { requeueAfterMs: 60 } : undefined;
      },
    },
  });
  const o = outcomes(c);
  c.start();
  c.enqueue({ namespace: 'ns', name: 'p' });
  await o.next((n) => n >= 2);
  t.same(
    o.seen.map(([, out]) => out),
    ['requeue-after', 'success'],
  );
  t.ok(at[1]! - at[0]! >= 55, `came back after ${at[1]! - at[0]!} ms`);
  t.same(limiter.delays, [], 'not counted as a failure');
  await c.stop();
});

t.test('N workers run different keys at once but never one key twice at once', async (t) => {
  let running = 0;
  let most = 0;
  const perKey = new Map<string, number>();
  let overlapped = false;
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const c = new Controller({
    name: 'parallel',
    workers: 3,
    reconciler: async (_ctx, req) => {
      running += 1;
      most = Math.max(most, running);
      perKey.set(req.name, (perKey.get(req.name) ?? 0) + 1);
      if (perKey.get(req.name)! > 1) overlapped = true;
      if (running === 3) release();
      await gate;
      perKey.set(req.name, perKey.get(req.name)! - 1);
      running -= 1;
    },
  });
  const o = outcomes(c);
  c.start();
  for (const name of ['a', 'b', 'c']) c.enqueue({ name });
  c.enqueue({ name: 'a' });
  await o.next((n) => n >= 4);
  t.equal(most, 3, 'three workers ran together');
  t.equal(overlapped, false, 'a key re-added mid-reconcile waited for its worker');
  t.same(o.seen.filter(([n]) => n === 'a').length, 2, 'and ran once more after');
  await c.stop();
});

t.test('stop aborts the reconcile signal and waits for reconciles in flight', async (t) => {
  let entered: () => void = () => undefined;
  const inside = new Promise<void>((r) => (entered = r));
  let sawAbort = false;
  let finished = false;
  const c = new Controller({
    name: 'slow',
    reconciler: async (ctx) => {
      entered();
      await new Promise<void>((r) => ctx.signal.addEventListener('abort', () => r(), { once: true }));
      sawAbort = ctx.signal.aborted;
      // The step after the abort still completes before stop() returns.
      await new Promise((r) => setImmediate(r));
      finished = true;
    },
  });
  c.start();
  c.enqueue({ name: 'x' });
  c.enqueue({ name: 'queued' });
  await inside;
  await c.stop();
  t.ok(sawAbort, 'the reconcile saw its signal aborted');
  t.ok(finished, 'stop waited for it');
  t.equal(c.queue.length, 0, 'queued keys were dropped');
  t.throws(() => c.start(), { code: 'BERTH_CONTROLLER_STARTED' }, 'a stopped controller does not start again');
});

t.test('bad controller options throw InvalidOptionError', async (t) => {
  const reconciler = async () => undefined;
  for (const o of [{ workers: 0 }, { workers: 1.5 }, { baseDelayMs: 0 }]) {
    t.throws(
      () => new Controller({ name: 'x', reconciler, ...o }),
      { name: 'InvalidOptionError', code: 'BERTH_CONTROLLER_INVALID_OPTION' },
      JSON.stringify(o),
    );
  }
  t.throws(() => new Controller({ name: 'Not A Name', reconciler }), { name: 'InvalidOptionError' });
  t.ok(InvalidOptionError.isInstance(new InvalidOptionError('x')));
});

t.test('a throwing observer or onTerminal neither stops the worker nor rejects unobserved', async (t) => {
  const rejections: unknown[] = [];
  const onRejection = (err: unknown) => void rejections.push(err);
  process.on('unhandledRejection', onRejection);
  t.teardown(() => void process.off('unhandledRejection', onRejection));
  const reconciled: string[] = [];
  const c = new Controller({
    name: 'callbacks',
    reconciler: async (_ctx, req) => {
      reconciled.push(req.name);
      if (req.name === 'give-up') throw new TerminalError('no');
    },
    onTerminal: () => {
      throw new Error('onTerminal bug');
    },
  });
  c.observe(() => {
    throw new Error('observer bug');
  });
  c.start();
  t.teardown(() => c.stop());
  // One worker: if a callback's throw ended it, 'second' would never be reconciled.
  c.enqueue({ name: 'give-up' });
  c.enqueue({ name: 'second' });
  t.ok(await eventually(() => reconciled.length >= 2, 2_000), 'the worker went on after both callbacks threw');
  t.same(reconciled, ['give-up', 'second']);
  await new Promise<void>((r) => setImmediate(r));
  t.same(rejections, [], 'no unhandled rejection');
});
