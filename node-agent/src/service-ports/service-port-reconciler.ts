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

  async reconcile(): Promise<Result> {
    const resyncMs = this.#o.resyncMs ?? 30_000;
    const ports = publishedPorts(this.#o.services.list(), this.#o.containers.list());
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
    await this.#o.rules.apply([]);
    this.#applied = undefined;
  }
}
