// A shared informer of Containers: list + watch into a cache, each change turned into a key, restarted when it fails.
//
// client-node's ListWatch relists on 410 Gone by itself but stops for good on any other error (a server restart,
// a reset connection), so this wrapper starts it again after a short, growing pause.
import { ListWatch, Watch, type KubernetesObject } from '@kubernetes/client-node';
import type { Container } from '@berth/api';
import { group, version, type ClusterApi } from '../cluster/cluster-api.js';

export interface ContainerInformerOptions {
  /** e.g. `spec.nodeName=node-1`; absent watches every Container. */
  readonly fieldSelector?: string;
  /** Called with `namespace/name` for every add, update and delete. */
  readonly onChange: (key: string) => void;
  /** Told about watch failures (the informer restarts itself). */
  readonly onError?: (err: unknown) => void;
}

export function containerKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

const keyOf = (obj: KubernetesObject): string => containerKey(obj.metadata?.namespace ?? '', obj.metadata?.name ?? '');

export class ContainerInformer {
  readonly #lw: ListWatch<KubernetesObject>;
  readonly #options: ContainerInformerOptions;
  #closed = false;
  #restartDelayMs = 100;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(api: ClusterApi, options: ContainerInformerOptions) {
    this.#options = options;
    const path = `/apis/${group}/${version}/containers`;
    this.#lw = new ListWatch<KubernetesObject>(path, new Watch(api.kc), () => api.listContainers(options.fieldSelector), false, undefined, options.fieldSelector);
    const changed = (obj: KubernetesObject) => {
      this.#restartDelayMs = 100;
      options.onChange(keyOf(obj));
    };
    this.#lw.on('add', changed);
    this.#lw.on('update', changed);
    this.#lw.on('delete', changed);
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
