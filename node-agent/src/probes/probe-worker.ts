// One probe of one run of a container, on its period, as a kubelet probe worker: the first try at once, then one
// per periodSeconds (never two at a time); none within initialDelaySeconds of the start; a result changes only after
// failureThreshold failures or successThreshold successes in a row; a liveness or startup failure holds the worker
// until the container restarts (a new worker).
import type { Probe } from '@berth/api';
import type { ProbeOutcome, ProbeResult } from './probe-handlers.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

export interface ProbeWorkerOptions {
  readonly kind: ProbeKind;
  readonly probe: Probe;
  /** When the container's process started (initialDelaySeconds counts from here). */
  readonly startedAtMs: number;
  /** The result before the first try. @default kubelet's for the kind */
  readonly initial?: ProbeOutcome;
  /** Wait before the first try. @default 0 */
  readonly firstDelayMs?: number;
  run(): Promise<ProbeResult>;
  /** Whether to probe now at all (liveness and readiness wait for the startup probe). */
  enabled(): boolean;
  /** Each failed try, for the Unhealthy Event. */
  failed(output: string): void;
  /** The result changed. */
  changed(): void;
  readonly now?: () => number;
}

/** kubelet's initial results: not ready until a probe says so, alive until one says not, started unknown. */
const initial: Record<ProbeKind, ProbeOutcome> = { readiness: 'failure', liveness: 'success', startup: 'unknown' };

export class ProbeWorker {
  readonly kind: ProbeKind;
  #result: ProbeOutcome;
  /** The output of the try that set the result. */
  #output = '';
  #last: ProbeOutcome | undefined;
  #run = 0;
  #onHold = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  readonly #o: ProbeWorkerOptions;

  constructor(options: ProbeWorkerOptions) {
    this.#o = options;
    this.kind = options.kind;
    this.#result = options.initial ?? initial[options.kind];
    this.#schedule(options.firstDelayMs ?? 0);
  }

  get result(): ProbeOutcome {
    return this.#result;
  }

  get output(): string {
    return this.#output;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), ms);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    const began = (this.#o.now ?? Date.now)();
    try {
      await this.#probeOnce(began);
    } finally {
      const periodMs = (this.#o.probe.periodSeconds ?? 10) * 1_000;
      this.#schedule(Math.max(0, began + periodMs - (this.#o.now ?? Date.now)()));
    }
  }

  async #probeOnce(now: number): Promise<void> {
    if (this.#onHold || !this.#o.enabled()) return;
    // A startup probe that succeeded is done for this run of the container.
    if (this.kind === 'startup' && this.#result === 'success') return;
    if (now - this.#o.startedAtMs < (this.#o.probe.initialDelaySeconds ?? 0) * 1_000) return;
    const { outcome, output: said } = await this.#o.run();
    let output = said;
    if (this.#stopped || outcome === 'unknown') return;
    if (outcome === 'failure') this.#o.failed(output);
    this.#run = outcome === this.#last ? this.#run + 1 : 1;
    this.#last = outcome;
    const needed =
      outcome === 'failure' ? (this.#o.probe.failureThreshold ?? 3) : (this.#o.probe.successThreshold ?? 1);
    if (this.#run < needed) return;
    // Only a failure's words are shown (in the Ready condition and the kill); a success's body is not kept.
    if (outcome === 'success') output = '';
    // The same result is no news, except the first failure of a not-yet-ready container: it says why. (Later
    // words of the same failure would rewrite status every period.)
    if (outcome === this.#result && (outcome === 'success' || this.#output !== '')) return;
    this.#result = outcome;
    this.#output = output;
    // The container is about to be killed: no more tries until it runs again.
    if (outcome === 'failure' && this.kind !== 'readiness') {
      this.#onHold = true;
      this.#run = 0;
    }
    this.#o.changed();
  }
}
