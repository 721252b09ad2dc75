// Records core v1 Events about any object, so `kubectl describe` and `kubectl get events` show what a controller did.
//
// As client-go's recorder does, a repeat of the same (object, type, reason, message) bumps `count` and
// `lastTimestamp` of the Event already written instead of creating another. Writes run in the background, in
// order per object: a failed Event never blocks or fails a reconcile. A caller in a burst of work the writes would
// slow (container starts share the API server's one thread with them) holds them back for a bounded time, as
// kubelet keeps its Events to their own rate limit (eventRecordQPS) apart from its status writes.
import { randomBytes } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { formatTime } from '@berth/api';
import type { ApiClient } from '../client/api-client.js';
import type { Resource } from '../client/resource.js';
import { checkNumber, InvalidOptionError, isNotFound } from '../errors.js';

export type EventType = 'Normal' | 'Warning';

/** Aggregation keys remembered (client-go's LRU size). */
const maxRecorded = 4096;

/** How long the last hold's release waits for another hold before the held Events go. */
const lingerMs = 20;

const events: Resource = { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true };

export interface EventRecorderOptions {
  /** `source.component` and `reportingComponent` of every Event, e.g. 'berth-scheduler'. */
  readonly component: string;
  /** `source.host` and `reportingInstance`. @default the component */
  readonly host?: string;
  readonly onError?: (err: unknown) => void;
  /** The longest an Event waits for the holds (`hold()`) to be released before it is written anyway. @default 2000 */
  readonly maxHoldMs?: number;
}

/** Where held writes wait: opened when the last hold goes, when the oldest waiter has waited long enough, or by flush. */
interface Gate {
  readonly opened: Promise<void>;
  readonly open: () => void;
}

interface Recorded {
  readonly name: string;
  readonly namespace: string;
  count: number;
}

export class EventRecorder {
  readonly #client: ApiClient;
  readonly #component: string;
  readonly #host: string;
  readonly #onError: (err: unknown) => void;
  /** Aggregation key → the Event written for it. */
  readonly #recorded = new Map<string, Recorded>();
  /** Per involved object: the tail of its write chain, so its Events land in order. */
  readonly #chains = new Map<string, Promise<void>>();
  readonly #maxHoldMs: number;
  #holds = 0;
  #gate: Gate | undefined;
  #lingering: NodeJS.Timeout | undefined;

  constructor(client: ApiClient, options: EventRecorderOptions) {
    if (typeof options.component !== 'string' || options.component === '')
      throw new InvalidOptionError('an event recorder needs a component name');
    this.#maxHoldMs = checkNumber('maxHoldMs', options.maxHoldMs ?? 2000, { min: 0 });
    this.#client = client;
    this.#component = options.component;
    this.#host = options.host ?? options.component;
    this.#onError = options.onError ?? (() => undefined);
  }

  /**
   * Holds back the writes of Events queued from now on until every hold is released and no new one is taken for 20 ms
   * (or `maxHoldMs` has passed for the oldest of them), so a burst of work is not slowed by its own Events; their
   * order and content stay the same.
   * Returns the release, which is safe to call more than once.
   */
  hold(): () => void {
    this.#holds += 1;
    clearTimeout(this.#lingering);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#holds -= 1;
      if (this.#holds !== 0 || this.#gate === undefined) return;
      // A burst has gaps (one start done before the next begins): the gate opens once no hold came for a moment.
      this.#lingering = setTimeout(() => {
        if (this.#holds === 0) this.#gate?.open();
      }, lingerMs);
      this.#lingering.unref();
    };
  }

  /** Queues an Event about `obj`; `flush()` waits for it. */
  event(obj: KubernetesObject, type: EventType, reason: string, message: string): void {
    const id = obj.metadata?.uid ?? `${obj.kind}/${obj.metadata?.namespace}/${obj.metadata?.name}`;
    const held = this.#held();
    const chain = (this.#chains.get(id) ?? Promise.resolve())
      .then(() => held)
      .then(() => this.#write(obj, id, type, reason, message))
      .catch(this.#onError);
    this.#chains.set(id, chain);
    void chain.then(() => {
      if (this.#chains.get(id) === chain) this.#chains.delete(id);
    });
  }

  /** Forgets the aggregation state of an object that is gone. */
  forget(uid: string): void {
    for (const key of this.#recorded.keys()) if (key.startsWith(`${uid}\0`)) this.#recorded.delete(key);
  }

  /** Writes every Event queued so far, held or not, and waits for them. */
  async flush(): Promise<void> {
    this.#gate?.open();
    await Promise.all([...this.#chains.values()]);
  }

  /** What a write queued now waits for: nothing when no hold is taken, else the gate (opened within maxHoldMs). */
  #held(): Promise<void> | undefined {
    if (this.#holds === 0) return undefined;
    if (this.#gate !== undefined) return this.#gate.opened;
    let open = () => undefined as void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    const timer = setTimeout(() => gate.open(), this.#maxHoldMs);
    // A held Event never keeps a stopping process alive: flush() on close opens the gate.
    timer.unref();
    const gate: Gate = {
      opened,
      open: () => {
        clearTimeout(timer);
        if (this.#gate === gate) this.#gate = undefined;
        open();
      },
    };
    this.#gate = gate;
    return opened;
  }

  async #write(obj: KubernetesObject, id: string, type: EventType, reason: string, message: string): Promise<void> {
    const key = `${id}\0${type}\0${reason}\0${message}`;
    const now = new Date();
    const seen = this.#recorded.get(key);
    if (seen !== undefined) {
      // Most recently used last, so the bound drops the oldest.
      this.#recorded.delete(key);
      this.#recorded.set(key, seen);
      try {
        seen.count += 1;
        await this.#client.patch(events, seen.namespace, seen.name, {
          count: seen.count,
          lastTimestamp: formatTime(now),
        });
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
        this.#recorded.delete(key);
      }
    }
    // Events of cluster-scoped objects live in 'default', as Kubernetes puts them.
    const namespace = obj.metadata?.namespace ?? 'default';
    // client-go's form, <object>.<hex time>, plus random bits so two Events in one millisecond never collide.
    const name = `${obj.metadata?.name ?? 'object'}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`;
    const ref = obj.metadata;
    await this.#client.create(events, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: ref?.name ?? '',
        ...(ref?.namespace !== undefined ? { namespace: ref.namespace } : {}),
        ...(ref?.uid !== undefined ? { uid: ref.uid } : {}),
        ...(ref?.resourceVersion !== undefined ? { resourceVersion: ref.resourceVersion } : {}),
      },
      type,
      reason,
      message,
      source: { component: this.#component, host: this.#host },
      reportingComponent: this.#component,
      reportingInstance: this.#host,
      firstTimestamp: formatTime(now),
      lastTimestamp: formatTime(now),
      count: 1,
    } as KubernetesObject);
    this.#recorded.set(key, { name, namespace, count: 1 });
    // Bounded as client-go's correlator is (an LRU of 4096): a long-lived controller records Events about objects
    // that are long gone (the garbage collector, one per object it deletes). Map order is insertion order.
    if (this.#recorded.size > maxRecorded) this.#recorded.delete(this.#recorded.keys().next().value as string);
  }
}
