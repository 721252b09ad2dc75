// What a Container's status should say, computed from what the agent observed, and the merge patch that gets it there.
import { formatTime, setCondition, type Condition, type ContainerStatus } from '@berth/api';

export type Phase = NonNullable<ContainerStatus['phase']>;

/** What the reconciler saw; every field it leaves out is cleared from status. */
export interface Observation {
  readonly phase: Phase;
  readonly reason?: string;
  readonly message?: string;
  readonly containerID?: string;
  readonly imageID?: string;
  readonly pid?: number;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly exitCode?: number;
  readonly signal?: number;
  readonly restartCount: number;
  /** How the run before this one ended (set by the restart that ends it); undefined keeps what status says. */
  readonly lastTermination?: ContainerStatus['lastTermination'];
  /** The container's addresses; undefined keeps what status says, [] clears them. */
  readonly ips?: ReadonlyArray<{ readonly ip: string; readonly network: string }>;
  /** undefined: not tried yet. */
  readonly pulled?: { readonly ok: boolean; readonly reason: string; readonly message?: string };
  readonly running: { readonly ok: boolean; readonly reason: string; readonly message?: string };
  /** What the readiness (and startup) probes say; undefined: ready when running (no probes). */
  readonly ready?: { readonly ok: boolean; readonly reason: string; readonly message?: string };
}

/** Kubernetes timestamps are whole seconds (metav1.Time). */
export const toTime = (iso: string | undefined): string | undefined =>
  iso === undefined ? undefined : formatTime(new Date(iso));

function condition(
  type: string,
  ok: boolean,
  reason: string,
  message: string | undefined,
  generation: number | undefined,
): Condition {
  return {
    type,
    status: ok ? 'True' : 'False',
    reason,
    ...(message !== undefined && message !== '' ? { message } : {}),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

/** The full status the Container should have; conditions keep their lastTransitionTime when unchanged. */
export function desiredStatus(
  current: ContainerStatus | undefined,
  obs: Observation,
  nodeName: string,
  generation: number | undefined,
  hostIP?: string,
  now = new Date(),
): ContainerStatus {
  let conditions = current?.conditions;
  const set = (c: Condition) => {
    conditions = setCondition(conditions, c, now).conditions;
  };
  set(condition('Scheduled', true, 'Scheduled', `bound to node ${nodeName}`, generation));
  if (obs.pulled !== undefined)
    set(condition('Pulled', obs.pulled.ok, obs.pulled.reason, obs.pulled.message, generation));
  set(condition('Running', obs.running.ok, obs.running.reason, obs.running.message, generation));
  // A container that does not run is never ready; one without probes is ready when it runs.
  const ready =
    !obs.running.ok || obs.ready === undefined
      ? { ok: obs.running.ok, reason: obs.running.ok ? 'ContainerRunning' : obs.running.reason }
      : obs.ready;
  set(condition('Ready', ready.ok, ready.reason, ready.ok ? undefined : ready.message, generation));
  const status: ContainerStatus = {
    phase: obs.phase,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    ...(conditions !== undefined ? { conditions } : {}),
    nodeName,
    ...(hostIP === undefined ? {} : { hostIP }),
    restartCount: obs.restartCount,
  };
  if (obs.containerID !== undefined) status.containerID = obs.containerID;
  if (obs.imageID !== undefined) status.imageID = obs.imageID;
  else if (current?.imageID !== undefined) status.imageID = current.imageID;
  if (obs.pid !== undefined) status.pid = obs.pid;
  if (obs.exitCode !== undefined) status.exitCode = obs.exitCode;
  if (obs.signal !== undefined) status.signal = obs.signal;
  if (obs.reason !== undefined && obs.reason !== '') status.reason = obs.reason;
  if (obs.message !== undefined && obs.message !== '') status.message = obs.message;
  const startedAt = toTime(obs.startedAt);
  if (startedAt !== undefined) status.startedAt = startedAt;
  const finishedAt = toTime(obs.finishedAt);
  if (finishedAt !== undefined) status.finishedAt = finishedAt;
  const last = obs.lastTermination ?? current?.lastTermination;
  if (last !== undefined) status.lastTermination = last;
  if (obs.ips !== undefined) {
    if (obs.ips.length > 0) status.ips = obs.ips.map((a) => ({ ip: a.ip, network: a.network }));
  } else if (current?.ips !== undefined) status.ips = current.ips;
  return status;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** A JSON merge patch turning `current` into `desired` (null removes a field), or undefined when they agree. */
export function statusPatch(
  current: ContainerStatus | undefined,
  desired: ContainerStatus,
): Record<string, unknown> | undefined {
  const patch: Record<string, unknown> = {};
  const cur = (current ?? {}) as Record<string, unknown>;
  const want = desired as Record<string, unknown>;
  for (const key of new Set([...Object.keys(cur), ...Object.keys(want)])) {
    if (want[key] === undefined) {
      if (cur[key] !== undefined) patch[key] = null;
    } else if (!same(cur[key], want[key])) {
      patch[key] = want[key];
    }
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}
