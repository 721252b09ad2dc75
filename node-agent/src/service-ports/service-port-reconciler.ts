// Keeps the node's published Service ports in step with the Services and their Ready replicas: one key for the
// whole node (as kube-proxy's syncProxyRules, a full sync is simpler than per-Service diffs and costs one
// iptables-restore), run on every change of a Service or Container and on a slow resync that repairs rules someone
// else removed. An unchanged set of ports between resyncs costs no command at all.
import type { Container, Service } from '@berth/api';
import type { Reconciler, Result } from '@berth/controller-runtime';
import { publishedPorts, type PublishedPort } from './service-endpoints.js';

/** The one request the controller of service ports takes. */
export const servicePortsKey = { name: 'service-ports' };

export interface ServicePortReconcilerOptions {
  readonly services: { list(): Service[] };
  readonly containers: { list(): Container[] };
  readonly rules: { apply(ports: readonly PublishedPort[], options?: { readonly full?: boolean }): Promise<void> };
  /** Re-applies the rules this often even when nothing changed. @default 30000 */
  readonly resyncMs?: number;
  /** Told of each change applied (for logs). */
  readonly applied?: (ports: readonly PublishedPort[]) => void;
}

export class ServicePortReconciler implements Reconciler {
  readonly #o: ServicePortReconcilerOptions;
  #applied: string | undefined;
  #appliedAt = 0;

  constructor(options: ServicePortReconcilerOptions) {
    this.#o = options;
  }

  /** One sync at a time: the controller's and the ones asked for directly (`syncNow`) queue up here. */
  #running: Promise<unknown> = Promise.resolve();

  reconcile(): Promise<Result> {
    const next = this.#running.then(() => this.#sync());
    this.#running = next.catch(() => undefined);
    return next;
  }

  /** Containers (by uid) being stopped: out of every port even before a cache shows their deletion. */
  readonly #leaving = new Set<string>();

  /**
   * Takes Container `c` out of its Services' ports and resolves once the rules say so (the caller stops it next).
   * The informer this reads may not have seen `c`'s deletion yet: `c` is left out by its uid until it is gone.
   */
  async drain(c: Container): Promise<void> {
    if (c.metadata.uid !== undefined) this.#leaving.add(c.metadata.uid);
    await this.reconcile();
  }

  async #sync(): Promise<Result> {
    const resyncMs = this.#o.resyncMs ?? 30_000;
    const all = this.#o.containers.list();
    const present = new Set(all.map((c) => c.metadata.uid));
    for (const uid of this.#leaving) if (!present.has(uid)) this.#leaving.delete(uid);
    const members = this.#leaving.size === 0 ? all : all.filter((c) => !this.#leaving.has(c.metadata.uid ?? ''));
    const ports = publishedPorts(this.#o.services.list(), members);
    const rendered = JSON.stringify(ports);
    const due = Date.now() - this.#appliedAt >= resyncMs;
    if (rendered !== this.#applied || due) {
      await this.#o.rules.apply(ports, { full: due });
      if (rendered !== this.#applied) this.#o.applied?.(ports);
      this.#applied = rendered;
      this.#appliedAt = Date.now();
    }
    return { requeueAfterMs: resyncMs };
  }

  /** Removes every rule of this agent's (an agent told to clean up on close). */
  async removeAll(): Promise<void> {
    const done = this.#running.then(() => this.#o.rules.apply([]));
    this.#running = done.catch(() => undefined);
    await done;
    this.#applied = undefined;
  }
}
