// Records core v1 Events about Containers, so `kubectl describe` and `kubectl get events` show what the agent did.
//
// Like kubelet's recorder, a repeat of the same (object, type, reason, message) bumps `count` and
// `lastTimestamp` of the Event already written instead of creating another. Writes happen in the background, in
// order per Container: a failed Event never blocks or fails a reconcile.
import { randomBytes } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import { formatTime, type Container } from '@berth/api';
import { isNotFound, type ClusterApi } from '../cluster/cluster-api.js';

export type EventType = 'Normal' | 'Warning';

interface Recorded {
  readonly name: string;
  count: number;
}

export class EventRecorder {
  readonly #api: ClusterApi;
  readonly #component: string;
  readonly #host: string;
  /** Aggregation key → the Event written for it. */
  readonly #recorded = new Map<string, Recorded>();
  /** Per involved object: the tail of its write chain, so its Events land in order. */
  readonly #chains = new Map<string, Promise<void>>();
  readonly #onError: (err: unknown) => void;

  constructor(api: ClusterApi, options: { readonly host: string; readonly component?: string; readonly onError?: (err: unknown) => void }) {
    this.#api = api;
    this.#host = options.host;
    this.#component = options.component ?? 'berth-node-agent';
    this.#onError = options.onError ?? (() => undefined);
  }

  event(container: Container, type: EventType, reason: string, message: string): void {
    const uid = container.metadata.uid ?? '';
    const chain = (this.#chains.get(uid) ?? Promise.resolve()).then(() => this.#write(container, type, reason, message)).catch(this.#onError);
    this.#chains.set(uid, chain);
    void chain.then(() => {
      if (this.#chains.get(uid) === chain) this.#chains.delete(uid);
    });
  }

  /** Forgets aggregation state of a Container that is gone. */
  forget(uid: string): void {
    for (const key of this.#recorded.keys()) if (key.startsWith(`${uid}\0`)) this.#recorded.delete(key);
  }

  /** Waits for every Event queued so far. */
  async flush(): Promise<void> {
    await Promise.all([...this.#chains.values()]);
  }

  async #write(container: Container, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = container.metadata.namespace ?? 'default';
    const uid = container.metadata.uid ?? '';
    const key = `${uid}\0${type}\0${reason}\0${message}`;
    const now = new Date();
    const seen = this.#recorded.get(key);
    if (seen !== undefined) {
      try {
        seen.count += 1;
        await this.#api.patchEvent(namespace, seen.name, { count: seen.count, lastTimestamp: formatTime(now) });
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.#recorded.delete(key);
      }
    }
    // kubelet's form, <object>.<hex time>, plus random bits so two Events in one millisecond never collide.
    const name = `${container.metadata.name ?? 'container'}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`;
    const event: CoreV1Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: container.apiVersion,
        kind: container.kind,
        name: container.metadata.name ?? '',
        namespace,
        uid,
        ...(container.metadata.resourceVersion !== undefined ? { resourceVersion: container.metadata.resourceVersion } : {}),
      },
      type,
      reason,
      message,
      source: { component: this.#component, host: this.#host },
      reportingComponent: this.#component,
      reportingInstance: this.#host,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    await this.#api.createEvent(namespace, event);
    this.#recorded.set(key, { name, count: 1 });
  }
}
