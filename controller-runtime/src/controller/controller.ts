// The reconcile loop: workers take keys from a rate-limited queue, call the reconciler, and turn its answer into
// the key's next step (forget, requeue after, back off, or give up), as controller-runtime's internal controller.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { SharedInformer } from '../cache/informer.js';
import { checkNumber, ControllerRuntimeError, InvalidOptionError } from '../errors.js';
import { mappingHandler, type MapFunc } from '../handler/enqueue.js';
import {
  asReconciler,
  requestKey,
  requestOf,
  silentLogger,
  terminalErrorOf,
  withFields,
  type TerminalError,
  type Logger,
  type ReconcileFunc,
  type Reconciler,
  type Request,
} from '../reconcile/reconcile.js';
import type { ReconcileMetrics, RuntimeMetrics } from '../metrics/runtime-metrics.js';
import type { RateLimiter } from '../workqueue/rate-limiter.js';
import { WorkQueue } from '../workqueue/workqueue.js';

export interface ControllerOptions {
  /** Names the controller in logs and metrics; unique within a manager. */
  readonly name: string;
  readonly reconciler: Reconciler | ReconcileFunc;
  /** Reconciles run at once (never two of one key). @default 1 */
  readonly workers?: number;
  /** Retry back-off after an error: first delay, doubling per failure of the key. @default 5 ms */
  readonly baseDelayMs?: number;
  /** @default 1000 s */
  readonly maxDelayMs?: number;
  /** Replaces the exponential back-off. */
  readonly rateLimiter?: RateLimiter;
  readonly log?: Logger;
  /** Told about each request given up with a TerminalError. */
  readonly onTerminal?: (req: Request, err: TerminalError) => void;
}

/** What the loop did with one request; for tests and metrics. */
export type Outcome = 'success' | 'requeue-after' | 'error' | 'terminal';

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly #reconciler: Reconciler;
  readonly #workers: number;
  readonly #log: Logger;
  readonly #options: ControllerOptions;
  readonly #stop = new AbortController();
  readonly #unwatch: Array<() => void> = [];
  readonly #observers = new Set<(req: Request, outcome: Outcome, err?: unknown) => void>();
  #running: Promise<void>[] | undefined;
  #metrics: ReconcileMetrics | undefined;

  constructor(options: ControllerOptions) {
    if (typeof options.name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(options.name)) {
      throw new InvalidOptionError(
        `controller name must be a lowercase DNS-like name, got ${JSON.stringify(options.name)}`,
      );
    }
    this.#workers = checkNumber('workers', options.workers ?? 1, { integer: true, min: 1 });
    this.name = options.name;
    this.#options = options;
    this.#reconciler = asReconciler(options.reconciler);
    this.#log = withFields(options.log ?? silentLogger, { controller: options.name });
    this.queue = new WorkQueue({
      ...(options.rateLimiter !== undefined ? { rateLimiter: options.rateLimiter } : {}),
      ...(options.baseDelayMs !== undefined ? { baseDelayMs: options.baseDelayMs } : {}),
      ...(options.maxDelayMs !== undefined ? { maxDelayMs: options.maxDelayMs } : {}),
    });
  }

  enqueue(req: Request): void {
    this.queue.add(requestKey(req));
  }

  /** Sends the requests `map` makes of each event of `informer` to this controller's queue. */
  watch<T extends KubernetesObject>(informer: SharedInformer<T>, map: MapFunc<T>): void {
    this.#unwatch.push(informer.addEventHandler(mappingHandler(map, (req) => this.enqueue(req))));
  }

  /** Calls `fn` after each reconcile with its outcome. */
  observe(fn: (req: Request, outcome: Outcome, err?: unknown) => void): () => void {
    this.#observers.add(fn);
    return () => this.#observers.delete(fn);
  }

  /** Reports its queue and reconciles to `metrics` (the manager calls this when the controller is added). */
  instrument(metrics: RuntimeMetrics): void {
    this.queue.instrument(metrics.queue(this.name, () => this.queue.length));
    this.#metrics = metrics.reconcile(this.name);
  }

  get started(): boolean {
    return this.#running !== undefined;
  }

  /** Starts the workers; the caches they read should have synced first (the manager sees to that). */
  start(): void {
    if (this.#running !== undefined)
      throw new ControllerRuntimeError('BERTH_CONTROLLER_STARTED', `controller ${this.name} was already started`);
    if (this.#stop.signal.aborted)
      throw new ControllerRuntimeError('BERTH_CONTROLLER_STARTED', `controller ${this.name} was stopped`);
    this.#running = Array.from({ length: this.#workers }, () => this.#work());
  }

  /** Aborts the reconciles' signal, drops queued keys and waits for reconciles in flight to return. */
  async stop(): Promise<void> {
    this.#stop.abort(new ControllerRuntimeError('BERTH_CONTROLLER_STARTED', `controller ${this.name} is stopping`));
    for (const unwatch of this.#unwatch.splice(0)) unwatch();
    await this.queue.shutDown({ drain: false });
    await Promise.all(this.#running ?? []);
  }

  async #work(): Promise<void> {
    const signal = this.#stop.signal;
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const req = requestOf(key);
      const log = withFields(this.#log, { request: key });
      let outcome: Outcome = 'error';
      let error: unknown;
      const began = performance.now();
      this.#metrics?.activeWorkers(1);
      try {
        const result = await this.#reconciler.reconcile({ signal, log, controller: this.name }, req);
        this.queue.forget(key);
        const after = result?.requeueAfterMs;
        if (after !== undefined && after > 0) {
          this.queue.addAfter(key, after);
          outcome = 'requeue-after';
        } else outcome = 'success';
      } catch (err) {
        error = err;
        const terminal = terminalErrorOf(err);
        if (terminal !== undefined) {
          this.queue.forget(key);
          outcome = 'terminal';
          log.error('reconcile gave up', { error: errorMessage(err) });
          this.#notify(log, () => this.#options.onTerminal?.(req, terminal));
        } else {
          outcome = 'error';
          // A reconcile cut short by stop is not a failure to back off from: the next start lists everything.
          if (!signal.aborted) {
            const delay = this.queue.addRateLimited(key);
            log.error('reconcile failed', { error: errorMessage(err), retryInMs: delay });
          }
        }
      } finally {
        this.queue.done(key);
        this.#metrics?.activeWorkers(-1);
        this.#metrics?.reconciled(
          outcome === 'requeue-after' ? 'requeue_after' : outcome,
          (performance.now() - began) / 1000,
        );
      }
      for (const fn of this.#observers) this.#notify(log, () => fn(req, outcome, error));
    }
  }

  /** Calls a caller's callback: its throw must not end this worker (nor reject a promise nobody awaits). */
  #notify(log: Logger, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      log.error('controller callback failed', { error: errorMessage(err) });
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
