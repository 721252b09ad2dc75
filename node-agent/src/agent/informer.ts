// A shared informer of Containers: list + watch into a cache, each change turned into a key, restarted when it fails.
//
// client-node's ListWatch relists on 410 Gone by itself but stops for good on any other error (a server restart,
// a reset connection), so this wrapper starts it again after a short, growing pause.
import { ListWatch, Watch, type KubernetesObject } from '@kubernetes/client-node';
import type { Container } from '@berth/api';
import { group, version, type ClusterApi } from '../cluster/cluster-api.js';
import { containerKey } from '../containers/reconciler.js';

export interface ContainerInformerOptions {
  /** e.g. `spec.nodeName=node-1`; absent watches every Container. */
  readonly fieldSelector?: string;
  /** Called with `namespace/name` for every add, update and delete. */
  readonly onChange: (key: string) => void;
  /** Told about watch failures (the informer restarts itself). */
  readonly onError?: (err: unknown) => void;
}

const keyOf = (obj: KubernetesObject): string => containerKey(obj.metadata?.namespace ?? '', obj.metadata?.name ?? '');

/**
 * What an update must change to be worth a reconcile: the spec (generation), deletion, finalizers, identity.
 * Status-only updates are the agent's own writes; reacting to them would retry a failed pull at once instead of
 * after the queue's back-off (controller-runtime's GenerationChangedPredicate, plus metadata the agent acts on).
 */
function fingerprint(obj: KubernetesObject): string {
  const m = obj.metadata;
  return JSON.stringify([m?.uid, (m as { generation?: number } | undefined)?.generation, m?.deletionTimestamp, m?.finalizers]);
}

export class ContainerInformer {
  readonly #lw: ListWatch<KubernetesObject>;
  readonly #options: ContainerInformerOptions;
  #closed = false;
  /** key → fingerprint of the last copy seen, to tell status-only updates apart. */
  readonly #seen = new Map<string, string>();
  #restartDelayMs = 100;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(api: ClusterApi, options: ContainerInformerOptions) {
    this.#options = options;
    const path = `/apis/${group}/${version}/containers`;
    this.#lw = new ListWatch<KubernetesObject>(path, new Watch(api.kc), () => api.listContainers(options.fieldSelector), false, undefined, options.fieldSelector);
    const changed = (obj: KubernetesObject, kind: 'add' | 'update' | 'delete') => {
      this.#restartDelayMs = 100;
      const key = keyOf(obj);
      const print = fingerprint(obj);
      const before = this.#seen.get(key);
      if (kind === 'delete') this.#seen.delete(key);
      else this.#seen.set(key, print);
      if (kind === 'update' && before === print) return;
      options.onChange(key);
    };
    this.#lw.on('add', (obj) => changed(obj, 'add'));
    this.#lw.on('update', (obj) => changed(obj, 'update'));
    this.#lw.on('delete', (obj) => changed(obj, 'delete'));
    this.#lw.on('error', (err: unknown) => this.#restart(err));
  }

  /** Resolves once the first list has filled the cache (retrying while the API server is unreachable). */
  async start(signal?: AbortSignal): Promise<void> {
    await this.#lw.start();
    while (!this.#closed && this.#lw.latestResourceVersion() === '') {
      if (signal?.aborted === true) throw signal.reason;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  #restart(err: unknown): void {
    if (this.#closed) return;
    this.#options.onError?.(err);
    if (this.#restartTimer !== undefined) return;
    const delay = this.#restartDelayMs;
    this.#restartDelayMs = Math.min(this.#restartDelayMs * 2, 10_000);
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#closed) return;
      this.#lw.start().catch((e: unknown) => this.#restart(e));
    }, delay);
  }

  get synced(): boolean {
    return this.#lw.latestResourceVersion() !== '';
  }

  get(namespace: string, name: string): Container | undefined {
    return this.#lw.get(name, namespace) as Container | undefined;
  }

  list(): Container[] {
    return this.#lw.list() as unknown as Container[];
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#restartTimer !== undefined) clearTimeout(this.#restartTimer);
    await this.#lw.stop();
  }
}
