// Owns what a controller process shares: one API client, one informer cache, the controllers and other
// runnables; starts them once the caches are filled and stops them in reverse.
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiClient } from '../client/api-client.js';
import { InformerCache } from '../cache/informer-cache.js';
import type { Backoff } from '../cache/informer.js';
import { ControllerRuntimeError } from '../errors.js';
import { EventRecorder } from '../events/recorder.js';
import { silentLogger, type Logger } from '../reconcile/reconcile.js';

/** Anything the manager starts after the caches sync and stops on close (a Controller is one). */
export interface Runnable {
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

export interface ManagerOptions {
  /** A KubeConfig, or the path of a kubeconfig file. */
  readonly kubeconfig: KubeConfig | string;
  /** User-Agent of every API call. @default 'berth-controller-manager' */
  readonly userAgent?: string;
  /** Field manager of every write. @default the user agent */
  readonly fieldManager?: string;
  /** Informers' retry pause after a failed list or watch. */
  readonly reconnectBackoff?: Backoff;
  readonly log?: Logger;
}

export class Manager {
  readonly client: ApiClient;
  readonly cache: InformerCache;
  readonly log: Logger;
  readonly #runnables: Runnable[] = [];
  readonly #started: Runnable[] = [];
  readonly #recorders: EventRecorder[] = [];
  readonly #names = new Set<string>();
  #state: 'new' | 'starting' | 'running' | 'closed' = 'new';
  #signal: AbortSignal | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ManagerOptions) {
    this.log = options.log ?? silentLogger;
    this.client = new ApiClient({
      kubeconfig: options.kubeconfig,
      userAgent: options.userAgent ?? 'berth-controller-manager',
      ...(options.fieldManager !== undefined ? { fieldManager: options.fieldManager } : {}),
    });
    this.cache = new InformerCache(this.client, {
      ...(options.reconnectBackoff !== undefined ? { reconnectBackoff: options.reconnectBackoff } : {}),
      onError: (err) => this.log.error('watch failed, retrying', { error: err instanceof Error ? err.message : String(err) }),
    });
  }

  /** Reserves a controller name; two controllers of one name would share logs and confuse everyone. */
  claimName(name: string): void {
    if (this.#names.has(name)) throw new ControllerRuntimeError('BERTH_CONTROLLER_STARTED', `a controller named ${name} already exists in this manager`);
    this.#names.add(name);
  }

  /** Adds a runnable; one added after start starts as soon as the cache has synced. */
  async add(runnable: Runnable): Promise<void> {
    if (this.#state === 'closed') throw new ControllerRuntimeError('BERTH_CONTROLLER_STARTED', 'the manager is closed');
    this.#runnables.push(runnable);
    if (this.#state === 'running') {
      this.cache.start();
      await this.cache.waitForSync(this.#signal);
      await this.#startOne(runnable);
    }
  }

  /** An Event recorder whose Events name `component` as their source; flushed on close. */
  eventRecorder(component: string, options: { host?: string } = {}): EventRecorder {
    const recorder = new EventRecorder(this.client, { component, ...options, onError: (err) => this.log.error('event not recorded', { error: String(err) }) });
    this.#recorders.push(recorder);
    return recorder;
  }

  /** Starts the informers, waits for them to fill, then starts every runnable. Aborting `signal` closes the manager. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'new') throw new ControllerRuntimeError('BERTH_CONTROLLER_STARTED', 'the manager was already started');
    this.#state = 'starting';
    this.#signal = signal;
    signal?.addEventListener('abort', () => void this.close(), { once: true });
    this.cache.start();
    await this.cache.waitForSync(signal);
    if (this.#state !== 'starting') return;
    this.#state = 'running';
    for (const r of this.#runnables) await this.#startOne(r);
  }

  async #startOne(r: Runnable): Promise<void> {
    if (this.#state !== 'running') return;
    await r.start();
    this.#started.push(r);
  }

  /** Stops runnables (last started first, each waiting for its work in flight), then the informers. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closed';
      for (const r of this.#started.splice(0).reverse()) await r.stop();
      await Promise.all(this.#recorders.map((r) => r.flush()));
      await this.cache.close();
      this.client.close();
    })();
    return this.#closing;
  }
}
