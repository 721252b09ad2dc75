// What a Container's status means to a docker user: started yet, failed to start (and why), exited with a code,
// and the STATUS text `docker ps` prints ("Up 5 seconds", "Exited (0) 3 minutes ago", "Created").

import type { Container } from '@berth/api';
import { ContainerStartError, CliError } from '../errors.js';

const pullFailures: ReadonlySet<string> = new Set([
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
]);
// NetworkNotReady: a user Network's slice for the node comes from the network controller once a member is bound
// there, so the first member of a Network on a node waits for it a moment (kubelet's reason for the same wait).
const waitingReasons: ReadonlySet<string> = new Set(['', 'Pulling', 'ContainerCreating', 'Pending', 'NetworkNotReady']);

export type StartOutcome = { readonly state: 'running' } | { readonly state: 'exited'; readonly exitCode: number };

/** Status written for this spec (not a leftover from an earlier generation). */
function current(c: Container): boolean {
  return (
    c.status !== undefined &&
    (c.status.observedGeneration === undefined || c.status.observedGeneration === c.metadata.generation)
  );
}

/**
 * Whether the container got going: running, or already exited after starting; throws the docker-worded failure
 * when it cannot start; undefined while it is still on its way.
 */
export function startOutcome(c: Container | undefined, name: string): StartOutcome | undefined {
  if (c === undefined)
    throw new CliError('BERTH_CLI_CONTAINER_START', `container ${name} was removed before it started`, {
      exitCode: 125,
    });
  if (!current(c)) return undefined;
  const s = c.status!;
  const reason = s.reason ?? '';
  if (pullFailures.has(reason))
    throw new CliError('BERTH_CLI_CONTAINER_START', `Unable to pull ${c.spec.image}: ${s.message ?? reason}`, {
      exitCode: 125,
    });
  if (s.phase === 'Running')
    return reason === 'CrashLoopBackOff' ? { state: 'exited', exitCode: s.exitCode ?? 0 } : { state: 'running' };
  if (s.phase === 'Succeeded' || s.phase === 'Failed') {
    if (s.startedAt === undefined && s.exitCode === undefined)
      throw new ContainerStartError(`failed to start container ${name}: ${s.message ?? reason}`);
    return { state: 'exited', exitCode: s.exitCode ?? 0 };
  }
  if (!waitingReasons.has(reason))
    throw new ContainerStartError(`failed to start container ${name}: ${s.message ?? reason}`);
  return undefined;
}

/** The exit code once the container has stopped running (for good, or into a restart back-off); else undefined. */
export function exitOutcome(c: Container | undefined, name: string): number | undefined {
  if (c === undefined)
    throw new CliError('BERTH_CLI_CONTAINER_START', `container ${name} was removed while it ran`, { exitCode: 125 });
  if (!current(c)) return undefined;
  const s = c.status!;
  if (s.phase === 'Succeeded' || s.phase === 'Failed' || s.reason === 'CrashLoopBackOff')
    return s.exitCode ?? (s.phase === 'Succeeded' ? 0 : 255);
  return undefined;
}

/** docker's State: running, restarting, exited or created. */
export function containerState(c: Container): string {
  if (isRunning(c)) return 'running';
  if (c.status?.reason === 'CrashLoopBackOff') return 'restarting';
  return c.status?.startedAt !== undefined ? 'exited' : 'created';
}

/** Whether `docker ps` (without -a) lists it. */
export function isRunning(c: Container): boolean {
  return c.status?.phase === 'Running' && c.status.reason !== 'CrashLoopBackOff';
}

/** "5 seconds", "About a minute", "3 hours": docker's units.HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.round(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** docker ps' STATUS column. */
export function statusText(c: Container, now = Date.now()): string {
  const s = c.status;
  const since = (t: string | undefined) => (t === undefined ? 0 : now - Date.parse(t));
  if (s?.phase === 'Running' && s.reason !== 'CrashLoopBackOff') return `Up ${humanDuration(since(s.startedAt))}`;
  if (s?.reason === 'CrashLoopBackOff')
    return `Restarting (${s.exitCode ?? 0}) ${humanDuration(since(s.finishedAt))} ago`;
  if ((s?.phase === 'Succeeded' || s?.phase === 'Failed') && (s.startedAt !== undefined || s.exitCode !== undefined))
    return `Exited (${s.exitCode ?? 0}) ${humanDuration(since(s.finishedAt))} ago`;
  if (s?.phase === 'Pulling') return 'Created (pulling image)';
  if (s?.phase === 'Failed' || (s?.reason !== undefined && !waitingReasons.has(s.reason)))
    return `Created (${s?.reason ?? 'Error'})`;
  return 'Created';
}

/** docker's 12-hex-digit short id, from the Container's uid. */
export function shortId(c: { metadata: { uid?: string } }): string {
  return (c.metadata.uid ?? '').replace(/-/g, '').slice(0, 12);
}
