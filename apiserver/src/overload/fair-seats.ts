// Seats shared fairly between flows (a small form of API Priority and Fairness' fair queuing): a pool of `limit`
// seats, each flow (a user) holding what it takes. When the pool is full, a flow holding less than its fair share
// (limit / flows with work, at least one) waits in its own queue; a flow holding its share or more, or whose queue
// is full, is refused at once. A freed seat goes to the next waiting flow in turn (round-robin), so a flood by one
// user fills only its own queue while another user's request takes the next seat that frees.

export interface FairSeatsOptions {
  /** Seats in the pool; 0 for no limit. */
  readonly limit: number;
  /** Requests one flow may have waiting. @default 50 */
  readonly queueLength?: number;
  /** How long a request may wait for a seat before it is refused. @default 15000 */
  readonly maxWaitMs?: number;
}

interface Waiter {
  readonly grant: () => void;
  readonly timer: NodeJS.Timeout;
}

/** Why a request got no seat. */
export type Refusal = 'share' | 'queue-full' | 'timeout' | 'aborted';

export class FairSeats {
  readonly #limit: number;
  readonly #queueLength: number;
  readonly #maxWaitMs: number;
  #used = 0;
  readonly #held = new Map<string, number>();
  /** Waiting flows in turn order; a flow is in it while its queue is not empty. */
  readonly #queues = new Map<string, Waiter[]>();

  constructor(options: FairSeatsOptions) {
    this.#limit = options.limit;
    this.#queueLength = options.queueLength ?? 50;
    this.#maxWaitMs = options.maxWaitMs ?? 15_000;
  }

  /** Resolves with a release function once `flow` holds a seat, or with the reason it gets none. */
  async acquire(flow: string, signal?: AbortSignal): Promise<(() => void) | Refusal> {
    if (this.#limit <= 0) return () => undefined;
    if (this.#used < this.#limit && this.#queues.size === 0) return this.#take(flow);
    const flows = new Set([...this.#held.keys(), ...this.#queues.keys(), flow]).size;
    const share = Math.max(1, Math.floor(this.#limit / flows));
    if ((this.#held.get(flow) ?? 0) >= share) return 'share';
    const queue = this.#queues.get(flow) ?? [];
    if (queue.length >= this.#queueLength) return 'queue-full';
    return new Promise((resolve) => {
      const leave = (why: Refusal) => {
        const q = this.#queues.get(flow);
        const i = q?.indexOf(waiter) ?? -1;
        if (q === undefined || i < 0) return;
        q.splice(i, 1);
        if (q.length === 0) this.#queues.delete(flow);
        signal?.removeEventListener('abort', onAbort);
        resolve(why);
      };
      const onAbort = () => {
        clearTimeout(waiter.timer);
        leave('aborted');
      };
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(this.#take(flow));
        },
        timer: setTimeout(() => leave('timeout'), this.#maxWaitMs),
      };
      queue.push(waiter);
      this.#queues.set(flow, queue);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Seats held now, by flow (for tests and metrics). */
  held(flow: string): number {
    return this.#held.get(flow) ?? 0;
  }

  #take(flow: string): () => void {
    this.#used++;
    this.#held.set(flow, (this.#held.get(flow) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#used--;
      const n = (this.#held.get(flow) ?? 1) - 1;
      if (n === 0) this.#held.delete(flow);
      else this.#held.set(flow, n);
      this.#dispatch();
    };
  }

  /** Gives free seats to waiting flows, one each in turn. */
  #dispatch(): void {
    while (this.#used < this.#limit && this.#queues.size > 0) {
      const [flow, queue] = this.#queues.entries().next().value as [string, Waiter[]];
      const waiter = queue.shift()!;
      // The flow goes to the back of the turn order; it leaves it once its queue is empty.
      this.#queues.delete(flow);
      if (queue.length > 0) this.#queues.set(flow, queue);
      waiter.grant();
    }
  }
}
