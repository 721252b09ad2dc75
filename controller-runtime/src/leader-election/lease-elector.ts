// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection: candidates race to write
// themselves as holder (optimistic concurrency on resourceVersion), the holder renews, and a lease not renewed
// within its duration may be taken over. Only the leader runs its work; closing releases the lease at once.
//
// Expiry is judged by the local clock from when this candidate last saw the record change, never by comparing
// the holder's renewTime with our clock, so clock skew between machines cannot make two leaders.
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ApiClient } from '../client/api-client.js';
import { resources } from '../client/resources.js';
import { checkNumber, InvalidOptionError, isConflict, isNotFound } from '../errors.js';

/** coordination.k8s.io/v1 Leases. */
export const { leases } = resources;

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease extends KubernetesObject {
  spec?: LeaseSpec;
}

export interface LeaderElectionOptions {
  readonly client: ApiClient;
  /** Where the Lease lives. */
  readonly namespace: string;
  /** The Lease's name: one per group of candidates, e.g. the component's name. */
  readonly name: string;
  /** This candidate, unique among them (e.g. hostname plus a random suffix). */
  readonly identity: string;
  /** How long a lease lasts unrenewed before others may take it. @default 15000 */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up leading. @default 10000 */
  readonly renewDeadlineMs?: number;
  /** The pause between tries to acquire or renew. @default 2000 */
  readonly retryPeriodMs?: number;
  /** Called when this candidate becomes leader; `signal` aborts when it stops leading. */
  readonly onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  /** Called when this candidate stops leading (lost the lease, or closed). */
  readonly onStoppedLeading?: () => void | Promise<void>;
  /** Called whenever the observed holder changes ('' when nobody holds it). */
  readonly onNewLeader?: (identity: string) => void;
  readonly onError?: (err: unknown) => void;
}

/** RFC 3339 with microseconds, the form of a Lease's MicroTime fields. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  readonly #o: LeaderElectionOptions;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;
  #leading: AbortController | undefined;
  #observed: { holder: string; renewTime: string; rv: string } | undefined;
  #observedAt = 0;
  #lease: Lease | undefined;
  #leader = '';

  constructor(options: LeaderElectionOptions) {
    for (const k of ['namespace', 'name', 'identity'] as const) {
      if (typeof options[k] !== 'string' || options[k] === '')
        throw new InvalidOptionError(`leader election needs a non-empty ${k}`);
    }
    this.#leaseDurationMs = checkNumber('leaseDurationMs', options.leaseDurationMs ?? 15_000, { positive: true });
    this.#renewDeadlineMs = checkNumber('renewDeadlineMs', options.renewDeadlineMs ?? 10_000, { positive: true });
    this.#retryPeriodMs = checkNumber('retryPeriodMs', options.retryPeriodMs ?? 2_000, { positive: true });
    if (this.#leaseDurationMs <= this.#renewDeadlineMs)
      throw new InvalidOptionError('leaseDurationMs must be greater than renewDeadlineMs');
    if (this.#renewDeadlineMs <= this.#retryPeriodMs)
      throw new InvalidOptionError('renewDeadlineMs must be greater than retryPeriodMs');
    this.#o = options;
  }

  get identity(): string {
    return this.#o.identity;
  }

  get isLeader(): boolean {
    return this.#leading !== undefined;
  }

  /** The holder last observed ('' when none). */
  get leader(): string {
    return this.#leader;
  }

  /** Starts campaigning in the background (once). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops campaigning; a leader stops leading and releases the lease so another candidate takes over at once. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const stop = this.#stop.signal;
    while (!stop.aborted) {
      // Candidate: try until we hold the lease.
      while (!stop.aborted && !(await this.#tryAcquireOrRenew(stop))) await this.#pause();
      if (stop.aborted) break;
      await this.#lead();
    }
  }

  async #lead(): Promise<void> {
    const stop = this.#stop.signal;
    const leading = new AbortController();
    this.#leading = leading;
    this.#call(() => this.#o.onStartedLeading(leading.signal));
    let renewedAt = Date.now();
    while (!stop.aborted) {
      await this.#pause();
      if (stop.aborted) break;
      // Each try is cut off at the renew deadline (client-go's renew context): a request hanging on a stalled
      // connection must not keep us leading while another candidate takes the expired lease.
      const left = Math.max(1, renewedAt + this.#renewDeadlineMs - Date.now());
      if (await this.#tryAcquireOrRenew(AbortSignal.any([stop, AbortSignal.timeout(left)]))) renewedAt = Date.now();
      else if (this.#leader !== this.#o.identity || Date.now() - renewedAt >= this.#renewDeadlineMs) break;
    }
    leading.abort();
    this.#leading = undefined;
    if (stop.aborted) await this.#release();
    this.#call(() => this.#o.onStoppedLeading?.());
  }

  /** One round: create the lease, renew ours, or take over an expired one. True when we hold it after. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const client = this.#o.client;
    const now = new Date();
    const me = this.#o.identity;
    const durationSeconds = Math.max(1, Math.ceil(this.#leaseDurationMs / 1000));
    try {
      let lease: Lease;
      try {
        lease = await client.get<Lease>(leases, this.#o.namespace, this.#o.name, signal);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const created = await client.create<Lease>(
          leases,
          {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.#o.name, namespace: this.#o.namespace },
            spec: {
              holderIdentity: me,
              leaseDurationSeconds: durationSeconds,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          } as Lease,
          signal,
        );
        this.#see(created);
        return true;
      }
      this.#see(lease);
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const heldMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
      if (holder !== '' && holder !== me && Date.now() - this.#observedAt < heldMs) return false;
      const takingOver = holder !== me;
      const next: Lease = {
        ...lease,
        spec: {
          ...spec,
          holderIdentity: me,
          leaseDurationSeconds: durationSeconds,
          renewTime: microTime(now),
          acquireTime: takingOver ? microTime(now) : (spec.acquireTime ?? microTime(now)),
          leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver ? 1 : 0),
        },
      };
      // The PUT carries the resourceVersion we read: if another candidate wrote in between, we lose with a 409.
      this.#see(await client.update<Lease>(leases, next, { signal }));
      return true;
    } catch (err) {
      if (!isConflict(err) && !this.#stop.signal.aborted) this.#o.onError?.(err);
      return false;
    }
  }

  async #release(): Promise<void> {
    const lease = this.#lease;
    if (lease?.spec?.holderIdentity !== this.#o.identity) return;
    const now = microTime(new Date());
    try {
      const released: Lease = {
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
      };
      // Bounded: a stalled connection must not hang close().
      this.#see(
        await this.#o.client.update<Lease>(leases, released, { signal: AbortSignal.timeout(this.#renewDeadlineMs) }),
      );
    } catch (err) {
      // Not released: the others wait out the lease duration instead.
      this.#o.onError?.(err);
    }
  }

  #see(lease: Lease): void {
    this.#lease = lease;
    const record = {
      holder: lease.spec?.holderIdentity ?? '',
      renewTime: lease.spec?.renewTime ?? '',
      rv: lease.metadata?.resourceVersion ?? '',
    };
    if (
      this.#observed === undefined ||
      this.#observed.holder !== record.holder ||
      this.#observed.renewTime !== record.renewTime
    ) {
      this.#observed = record;
      this.#observedAt = Date.now();
    }
    if (record.holder !== this.#leader) {
      this.#leader = record.holder;
      this.#o.onNewLeader?.(record.holder);
    }
  }

  /** Waits one retry period, jittered so candidates do not collide in lock-step. */
  async #pause(): Promise<void> {
    const ms = this.#retryPeriodMs * (1 + Math.random() * 0.2);
    await sleep(ms, undefined, { signal: this.#stop.signal }).catch(() => undefined);
  }

  #call(fn: () => void | Promise<void>): void {
    try {
      Promise.resolve(fn()).catch((err: unknown) => this.#o.onError?.(err));
    } catch (err) {
      this.#o.onError?.(err);
    }
  }
}
