// Owns what a controller process shares: one API client, one informer cache, the controllers and other
// runnables; starts them once the caches are filled and stops them in reverse.
import { ApiClient } from '../client/api-client.js';
import type { Kubeconfig } from '../client/kubeconfig.js';
import { InformerCache } from '../cache/informer-cache.js';
import type { Backoff } from '../cache/informer.js';
import { ControllerRuntimeError } from '../errors.js';
import { EventRecorder } from '../events/recorder.js';
import { LeaderElector, type LeaderElectionOptions } from '../leader-election/lease-elector.js';
import { MetricsServer, type MetricsServerOptions } from '../metrics/metrics-server.js';
import { RuntimeMetrics } from '../metrics/runtime-metrics.js';
import { silentLogger, type Logger } from '../reconcile/reconcile.js';

/** Anything the manager starts after the caches sync and stops on close (a Controller is one). */
export interface Runnable {
  start(): void | Promise<void>;
  stop(): Promise<void>;
  /** Given the manager's metrics when added (a Controller reports its queue and reconciles). */
  instrument?(metrics: RuntimeMetrics): void;
}

export interface ManagerOptions {
  /** A Kubeconfig (client-node's KubeConfig is one), or the path of a kubeconfig file. */
  readonly kubeconfig: Kubeconfig | string;
  /** User-Agent of every API call. @default 'berth-controller-manager' */
  readonly userAgent?: string;
  /** Field manager of every write. @default the user agent */
  readonly fieldManager?: string;
  /** Informers' retry pause after a failed list or watch. */
  readonly reconnectBackoff?: Backoff;
  readonly log?: Logger;
  /**
   * Run the controllers only while this process holds the Lease (caches fill on every candidate, so a new
   * leader starts warm). Losing the Lease closes the manager, as controller-runtime exits: a process that may
   * have missed changes while not leading starts over rather than guessing.
   */
  readonly leaderElection?: Omit<LeaderElectionOptions, 'client' | 'onStartedLeading' | 'onStoppedLeading' | 'onError'>;
  /** Serve `metrics` at /metrics from start (leader or not), callers checked with the API server. @default off */
  readonly metricsServer?: MetricsServerOptions;
}

export class Manager {
  readonly client: ApiClient;
  readonly cache: InformerCache;
  readonly log: Logger;
  /** The registry of this manager's controllers (workqueue_*, controller_runtime_*); components add their own. */
  readonly metrics = new RuntimeMetrics();
  readonly #metricsOptions: MetricsServerOptions | undefined;
  #metricsServer: MetricsServer | undefined;
  readonly #runnables: Runnable[] = [];
  readonly #started: Runnable[] = [];
  readonly #recorders: EventRecorder[] = [];
  readonly #names = new Set<string>();
  #state: 'new' | 'starting' | 'running' | 'closed' = 'new';
  #signal: AbortSignal | undefined;
  #closing: Promise<void> | undefined;
  readonly #elector: LeaderElector | undefined;
  #elected: () => void = () => undefined;
  /** Resolves when this process leads (at once without leader election); runnables start after it. */
  readonly elected: Promise<void>;
  #closedResolve: () => void = () => undefined;
  /** Resolves once the manager has closed, whoever closed it (its owner, an abort, a lost Lease). */
  readonly closed: Promise<void> = new Promise((resolve) => (this.#closedResolve = resolve));

  constructor(options: ManagerOptions) {
    this.log = options.log ?? silentLogger;
    this.#metricsOptions = options.metricsServer;
    this.client = new ApiClient({
      kubeconfig: options.kubeconfig,
      userAgent: options.userAgent ?? 'berth-controller-manager',
      ...(options.fieldManager !== undefined ? { fieldManager: options.fieldManager } : {}),
    });
    this.cache = new InformerCache(this.client, {
      ...(options.reconnectBackoff !== undefined ? { reconnectBackoff: options.reconnectBackoff } : {}),
      onError: (err) =>
        this.log.error('watch failed, retrying', { error: err instanceof Error ? err.message : String(err) }),
    });
    this.elected = new Promise((resolve) => (this.#elected = resolve));
    const le = options.leaderElection;
    this.#elector =
      le === undefined
        ? undefined
        : new LeaderElector({
            ...le,
            client: this.client,
            onStartedLeading: () => this.#elected(),
            onStoppedLeading: () => {
              if (this.#state === 'closed') return;
              this.log.error('lost the leader lease; closing the manager', { lease: `${le.namespace}/${le.name}` });
              this.#closeLogged();
            },
            onError: (err) =>
              this.log.error('leader election', { error: err instanceof Error ? err.message : String(err) }),
          });
    if (this.#elector === undefined) this.#elected();
  }

  /** Where /metrics is served (`https://127.0.0.1:PORT`), once started with `metricsServer`. */
  get metricsUrl(): string | undefined {
    return this.#metricsServer?.url;
  }

  /** True while this process may run its controllers. */
  get isLeader(): boolean {
    return this.#elector === undefined ? this.#state === 'running' : this.#elector.isLeader;
  }

  /** Reserves a controller name; two controllers of one name would share logs and confuse everyone. */
  claimName(name: string): void {
    if (this.#names.has(name))
      throw new ControllerRuntimeError(
        'BERTH_CONTROLLER_STARTED',
        `a controller named ${name} already exists in this manager`,
      );
    this.#names.add(name);
  }

  /** Adds a runnable; one added after start starts as soon as the cache has synced. */
  async add(runnable: Runnable): Promise<void> {
    if (this.#state === 'closed') throw new ControllerRuntimeError('BERTH_CONTROLLER_STARTED', 'the manager is closed');
    this.#runnables.push(runnable);
    runnable.instrument?.(this.metrics);
    if (this.#state === 'running') {
      this.cache.start();
      await this.cache.waitForSync(this.#signal);
      await this.#startOne(runnable);
    }
  }

  /** An Event recorder whose Events name `component` as their source; flushed on close. */
  eventRecorder(component: string, options: { host?: string } = {}): EventRecorder {
    const recorder = new EventRecorder(this.client, {
      component,
      ...options,
      onError: (err) => this.log.error('event not recorded', { error: String(err) }),
    });
    this.#recorders.push(recorder);
    return recorder;
  }

  /**
   * Starts the informers and waits for them to fill. Runnables start then, or with leader election once this
   * process leads (see `elected`). The manager runs until `signal` aborts or `close()` is called.
   */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'new')
      throw new ControllerRuntimeError('BERTH_CONTROLLER_STARTED', 'the manager was already started');
    this.#state = 'starting';
    this.#signal = signal;
    if (this.#metricsOptions !== undefined)
      this.#metricsServer = await MetricsServer.start(this.metrics.registry, this.client, this.#metricsOptions);
    signal?.addEventListener('abort', () => this.#closeLogged(), { once: true });
    this.cache.start();
    this.#elector?.start();
    try {
      await this.cache.waitForSync(signal);
    } catch (err) {
      // Closed while the caches were filling: not a failure of start.
      if (this.#closing !== undefined) return;
      throw err;
    }
    if (this.#elector === undefined) await this.#run();
    // Nobody awaits this start: a runnable that fails to start closes the manager (as losing the Lease does)
    // instead of rejecting unobserved.
    else
      void this.elected
        .then(() => this.#run())
        .catch((err: unknown) => {
          this.log.error('a runnable failed to start; closing the manager', {
            error: err instanceof Error ? err.message : String(err),
          });
          return this.close();
        });
  }

  async #run(): Promise<void> {
    if (this.#state !== 'starting') return;
    this.#state = 'running';
    for (const r of this.#runnables) await this.#startOne(r);
  }

  async #startOne(r: Runnable): Promise<void> {
    if (this.#state !== 'running' || this.#started.includes(r)) return;
    this.#started.push(r);
    await r.start();
  }

  /** Stops runnables (last started first, each waiting for its work in flight), then the informers. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closed';
      for (const r of this.#started.splice(0).reverse()) await r.stop();
      await this.#elector?.close();
      await Promise.all(this.#recorders.map((r) => r.flush()));
      await this.cache.close();
      await this.#metricsServer?.close();
      this.client.close();
    })().finally(() => this.#closedResolve());
    return this.#closing;
  }

  /** close() from a callback nobody awaits: a runnable whose stop() throws is logged, not an unhandled rejection. */
  #closeLogged(): void {
    this.close().catch((err: unknown) =>
      this.log.error('closing the manager failed', { error: err instanceof Error ? err.message : String(err) }),
    );
  }
}
