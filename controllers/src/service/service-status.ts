// The Service's status from its replicas: counts, the selector string for the scale subresource, and the
// Available and Progressing conditions with the Deployment controller's meaning (progress resets the deadline;
// no progress for progressDeadlineSeconds turns Progressing False with reason ProgressDeadlineExceeded).
import { formatTime, setCondition, findCondition, type Condition, type Service, type ServiceStatus } from '@berth/api';

/** A Service condition; lastUpdateTime moves on every update, lastTransitionTime only when the status flips. */
export type ServiceCondition = Condition & { lastUpdateTime?: string };

export interface Counts {
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly updatedReplicas: number;
  readonly availableReplicas: number;
}

export interface StatusInput {
  readonly service: Service;
  readonly counts: Counts;
  readonly selector: string;
  readonly currentRevision: string;
  readonly updateRevision: string;
  readonly minAvailable: number;
  /** This pass deleted replicas by plan (old ones rolled away, or a scale down). */
  readonly acted: boolean;
  readonly now: Date;
}

export interface StatusOutcome {
  readonly status: ServiceStatus;
  readonly changed: boolean;
  /** The Progressing condition turned False because of the deadline in this pass. */
  readonly deadlineExceeded: boolean;
  /** Milliseconds until the deadline would pass with no progress, while a rollout is under way. */
  readonly deadlineInMs: number | undefined;
  readonly complete: boolean;
}

/**
 * Progress as the Deployment controller's DeploymentProgressing sees it: more updated or available replicas, or
 * fewer old ones. Ready alone is not progress here: a crash-looping replica turns Ready for a moment at every
 * restart, and counting that would keep a stalled rollout from ever reaching its deadline.
 */
function progressed(a: ServiceStatus | undefined, b: Counts): boolean {
  const oldBefore = (a?.replicas ?? 0) - (a?.updatedReplicas ?? 0);
  return (
    b.updatedReplicas > (a?.updatedReplicas ?? 0) ||
    b.availableReplicas > (a?.availableReplicas ?? 0) ||
    b.replicas - b.updatedReplicas < oldBefore
  );
}

export function computeStatus(input: StatusInput): StatusOutcome {
  const { service, counts, now } = input;
  const name = service.metadata.name ?? '';
  const generation = service.metadata.generation;
  const desired = service.spec.replicas ?? 1;
  const old = service.status;
  let conditions = [...((old?.conditions ?? []) as ServiceCondition[])];
  const set = (c: ServiceCondition): boolean => {
    const r = setCondition<ServiceCondition>(conditions, c, now);
    if (!r.changed) return false;
    conditions = r.conditions.map((x) => (x.type === c.type ? { ...x, lastUpdateTime: formatTime(now) } : x));
    return true;
  };

  set(
    counts.availableReplicas >= input.minAvailable
      ? {
          type: 'Available',
          status: 'True',
          reason: 'MinimumReplicasAvailable',
          message: 'Service has minimum availability.',
        }
      : {
          type: 'Available',
          status: 'False',
          reason: 'MinimumReplicasUnavailable',
          message: `Service does not have minimum availability (${counts.availableReplicas} of ${input.minAvailable} needed available).`,
        },
  );

  const complete =
    counts.updatedReplicas === desired && counts.replicas === desired && counts.availableReplicas >= desired;
  const deadlineMs = (service.spec.progressDeadlineSeconds ?? 600) * 1000;
  const prev = findCondition(conditions, 'Progressing');
  let deadlineExceeded = false;
  let deadlineInMs: number | undefined;
  if (service.spec.paused === true) {
    set({ type: 'Progressing', status: 'Unknown', reason: 'ServicePaused', message: 'Service is paused.' });
  } else if (complete) {
    set({
      type: 'Progressing',
      status: 'True',
      reason: 'NewRevisionAvailable',
      message: `Service "${name}" has successfully progressed to revision ${input.updateRevision}.`,
    });
  } else {
    const moved =
      input.acted ||
      progressed(old, counts) ||
      old?.observedGeneration !== generation ||
      prev === undefined ||
      prev.reason === 'ServicePaused' ||
      prev.reason === 'NewRevisionAvailable';
    if (moved) {
      // Progress: the deadline counts from now (lastUpdateTime moves even when nothing else does).
      set({
        type: 'Progressing',
        status: 'True',
        reason: 'ReplicasUpdated',
        message: `Service "${name}" is progressing: ${counts.updatedReplicas} of ${desired} updated, ${counts.availableReplicas} available.`,
      });
      conditions = conditions.map((c) => (c.type === 'Progressing' ? { ...c, lastUpdateTime: formatTime(now) } : c));
      deadlineInMs = deadlineMs;
    } else if (prev.status === 'True') {
      const since = Date.parse(prev.lastUpdateTime ?? prev.lastTransitionTime ?? '') || now.getTime();
      const left = since + deadlineMs - now.getTime();
      if (left <= 0) {
        set({
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: `Service "${name}" has timed out progressing: revision ${input.updateRevision} has ${counts.updatedReplicas} of ${desired} replicas, ${counts.availableReplicas} available.`,
        });
        deadlineExceeded = true;
      } else {
        deadlineInMs = left;
      }
    }
  }

  const status: ServiceStatus = {
    ...old,
    observedGeneration: generation ?? 0,
    replicas: counts.replicas,
    readyReplicas: counts.readyReplicas,
    updatedReplicas: counts.updatedReplicas,
    availableReplicas: counts.availableReplicas,
    selector: input.selector,
    currentRevision: input.currentRevision,
    updateRevision: input.updateRevision,
    conditions,
  };
  const changed = JSON.stringify(canonical(status)) !== JSON.stringify(canonical(old ?? {}));
  return { status, changed, deadlineExceeded, deadlineInMs, complete };
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, x]) => [k, canonical(x)]),
    );
  return v;
}
