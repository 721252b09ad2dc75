// A ContainerReconciler on the fakes, as the reconciler tests build it: a fake API (also its cache), runtime,
// snapshotter, images and Event sink, quiet back-offs and logs, and `settle`, which reconciles a name as the queue
// would until a pass changes nothing more. A test passes only the options it is about.
import { pino } from 'pino';
import { silentLogger, type ReconcileContext, type Result } from '@berth/controller-runtime';
import { ContainerReconciler, type ReconcilerOptions } from '../../src/containers/reconciler.js';
import { ImagePolicy } from '../../src/containers/image-policy.js';
import { FakeApi, FakeEvents, FakeImages, FakeRuntime, FakeSnapshotter } from './fakes.js';

export const nodeName = 'node-a';
export const ctx: ReconcileContext = {
  signal: new AbortController().signal,
  log: silentLogger,
  controller: 'container',
};

export interface ReconcilerFixture {
  readonly api: FakeApi;
  readonly runtime: FakeRuntime;
  readonly snapshots: FakeSnapshotter;
  readonly images: FakeImages;
  readonly events: FakeEvents;
  readonly reconciler: ContainerReconciler;
  /** Reconciles `name` until a run changes nothing more (at most 10 times); the last run's result. */
  settle(name: string): Promise<Result>;
}

export function setUpReconciler(
  t: { teardown(fn: () => unknown): void },
  options: Partial<ReconcilerOptions> = {},
): ReconcilerFixture {
  const api = new FakeApi();
  const runtime = new FakeRuntime();
  // No fake process outlives its test.
  t.teardown(() => runtime.host.shutdown());
  const snapshots = new FakeSnapshotter();
  const images = new FakeImages();
  const events = new FakeEvents();
  const reconciler = new ContainerReconciler({
    nodeName,
    adoptUnbound: false,
    api,
    cache: api,
    runtime,
    snapshots,
    images: new ImagePolicy(images),
    events,
    exits: { watch: () => undefined, unwatch: () => undefined },
    restartBackoff: { baseMs: 10_000, maxMs: 300_000 },
    backoffResetMs: 600_000,
    pollIntervalMs: 10_000,
    logger: pino({ level: 'silent' }),
    ...options,
  });
  const settle = async (name: string): Promise<Result> => {
    let result: Result = {};
    for (let i = 0; i < 10; i++) {
      const before = api.writes.length + runtime.calls.length;
      result = await reconciler.reconcile(ctx, { namespace: 'default', name });
      if (api.writes.length + runtime.calls.length === before) return result;
    }
    return result;
  };
  return { api, runtime, snapshots, images, events, reconciler, settle };
}
