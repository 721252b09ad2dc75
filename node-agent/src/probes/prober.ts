// The node agent's probe manager, as kubelet's: a worker per probe of each running container, their latest results,
// and what those mean for the Container — started (startup probe), ready (readiness probe) and whether it must be
// killed (liveness or startup failure). Result changes re-queue the Container; the reconciler acts on them.
import type { Container, Probe } from '@berth/api';
import type { EventType } from '@berth/controller-runtime';
import { runProbe, type ProbeTarget } from './probe-handlers.js';
import { ProbeWorker, type ProbeKind } from './probe-worker.js';

export interface ProberOptions {
  /** Runs a command in container `id` (the exec path `kubectl exec` uses). */
  exec(id: string, args: readonly string[], timeoutMs: number): Promise<{ code: number; output: string } | 'timeout'>;
  event(c: Container, type: EventType, reason: string, message: string): void;
  /** A result changed: the Container of `key` should be reconciled. */
  changed(key: string): void;
}

/** What the probes say of one run of a container. */
export interface ProbeVerdict {
  /** No startup probe, or it succeeded. */
  readonly started: boolean;
  readonly ready: boolean;
  /** Why it is not ready. */
  readonly message?: string;
  /** A liveness or startup probe failed: the container must be killed (and restarted by restartPolicy). */
  readonly kill?: { readonly kind: 'liveness' | 'startup'; readonly output: string };
}

interface Entry {
  readonly startedAt: string | undefined;
  readonly workers: Map<ProbeKind, ProbeWorker>;
}

const probeName: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

const probesOf = (c: Container): Array<[ProbeKind, Probe]> => {
  const out: Array<[ProbeKind, Probe]> = [];
  if (c.spec.startupProbe !== undefined) out.push(['startup', c.spec.startupProbe]);
  if (c.spec.livenessProbe !== undefined) out.push(['liveness', c.spec.livenessProbe]);
  if (c.spec.readinessProbe !== undefined) out.push(['readiness', c.spec.readinessProbe]);
  return out;
};

/** The address probes reach the container on: its first network's, or the node's loopback in host networking. */
function probeAddress(c: Container): string | undefined {
  if (c.spec.networkMode === 'host') return '127.0.0.1';
  return c.status?.ips?.[0]?.ip;
}

export class Prober {
  readonly #o: ProberOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(options: ProberOptions) {
    this.#o = options;
  }

  /**
   * Probes the run of container `id` that started at `startedAt` (a new start replaces the workers: results do not
   * carry over a restart). `current` gives the Container as the cache now has it (its address comes with status).
   */
  sync(
    c: Container,
    id: string,
    key: string,
    startedAt: string | undefined,
    current: () => Container | undefined,
  ): void {
    const existing = this.#entries.get(id);
    if (existing !== undefined && existing.startedAt === startedAt) return;
    if (existing !== undefined) this.remove(id);
    const probes = probesOf(c);
    if (probes.length === 0) return;
    const entry: Entry = { startedAt, workers: new Map() };
    this.#entries.set(id, entry);
    const startedAtMs = startedAt !== undefined ? Date.parse(startedAt) : Date.now();
    const hasStartup = c.spec.startupProbe !== undefined;
    // A run status already called Ready (an agent restarted under a running container) stays so until a probe
    // says otherwise, instead of dropping out of its Services while the first tries run.
    const second = (iso: string | undefined) => (iso === undefined ? Number.NaN : Math.floor(Date.parse(iso) / 1_000));
    const resumed =
      c.status?.containerID === id &&
      second(c.status.startedAt) === second(startedAt) &&
      (c.status.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True');
    for (const [kind, probe] of probes) {
      const target = (): ProbeTarget => {
        const now = current() ?? c;
        return {
          container: now,
          ip: probeAddress(now),
          exec: (args, timeoutMs) => this.#o.exec(id, args, timeoutMs),
        };
      };
      entry.workers.set(
        kind,
        new ProbeWorker({
          kind,
          probe,
          startedAtMs,
          ...(resumed && kind !== 'liveness' ? { initial: 'success' as const } : {}),
          // As kubelet after a restart: the first tries of containers found running spread over a period, not all at once.
          ...(resumed ? { firstDelayMs: Math.random() * (probe.periodSeconds ?? 10) * 1_000 } : {}),
          run: () => runProbe(probe, target()),
          // kubelet: liveness and readiness probes wait until the startup probe has succeeded.
          enabled: () => kind === 'startup' || !hasStartup || entry.workers.get('startup')?.result === 'success',
          failed: (output) =>
            this.#o.event(current() ?? c, 'Warning', 'Unhealthy', `${probeName[kind]} probe failed: ${output}`),
          changed: () => this.#o.changed(key),
        }),
      );
    }
  }

  /** What the probes of container `id` say; a container without probes is started and ready. */
  verdict(id: string): ProbeVerdict {
    const workers = this.#entries.get(id)?.workers;
    if (workers === undefined) return { started: true, ready: true };
    const startup = workers.get('startup');
    const liveness = workers.get('liveness');
    const readiness = workers.get('readiness');
    if (startup !== undefined && startup.result === 'failure')
      return {
        started: false,
        ready: false,
        message: 'startup probe failed',
        kill: { kind: 'startup', output: startup.output },
      };
    const started = startup === undefined || startup.result === 'success';
    const kill = liveness?.result === 'failure' ? { kill: { kind: 'liveness' as const, output: liveness.output } } : {};
    if (!started) return { started, ready: false, message: 'startup probe has not succeeded yet', ...kill };
    if (readiness === undefined || readiness.result === 'success') return { started, ready: true, ...kill };
    const message =
      readiness.output !== '' ? `readiness probe failed: ${readiness.output}` : 'readiness probe has not succeeded yet';
    return { started, ready: false, message, ...kill };
  }

  /** Stops the workers of `id` (its container exited or is gone) and forgets their results. */
  remove(id: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    for (const w of entry.workers.values()) w.stop();
    this.#entries.delete(id);
  }

  close(): void {
    for (const id of [...this.#entries.keys()]) this.remove(id);
  }
}
