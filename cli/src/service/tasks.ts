// A Service's replicas as Swarm's tasks: each gets a slot (web.1, web.2, … by age, oldest first: berth keeps no slot
// of its own, and a replaced replica is deleted rather than kept as history), its node, desired and current state.

import { formatLabelSelector, labelSelectorFromMeta, type Container, type Service } from '@berth/api';
import type { ApiClient } from '../api/client.js';
import { humanDuration, shortId } from '../docker/container-state.js';

export interface Task {
  readonly container: Container;
  /** `web.1`. */
  readonly name: string;
  readonly node: string;
}

/** The Containers the Service controls, oldest first, with their slots. */
export async function serviceTasks(client: ApiClient, service: Service): Promise<Task[]> {
  const parsed = labelSelectorFromMeta(service.spec.selector);
  const selector = parsed === null ? undefined : formatLabelSelector(parsed);
  const owned = (await client.list<Container>('containers', selector)).filter((c) =>
    c.metadata.ownerReferences?.some((r) => r.controller === true && r.uid === service.metadata.uid),
  );
  owned.sort(
    (a, b) =>
      (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
      (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
  return owned.map((container, i) => ({
    container,
    name: `${service.metadata.name ?? ''}.${i + 1}`,
    node: container.spec.nodeName ?? '',
  }));
}

/** Swarm's DESIRED STATE: Running, or Shutdown for a replica on its way out. */
export function desiredState(c: Container): string {
  return c.metadata.deletionTimestamp !== undefined || c.spec.stopped === true ? 'Shutdown' : 'Running';
}

/** Swarm's CURRENT STATE: `Running 5 seconds ago`, `Preparing`, `Failed 3 seconds ago`, … */
export function currentState(c: Container, now = Date.now()): string {
  const s = c.status;
  const ago = (t: string | undefined) => (t === undefined ? '' : ` ${humanDuration(now - Date.parse(t))} ago`);
  if (c.spec.nodeName === undefined) return `Pending${ago(c.metadata.creationTimestamp)}`;
  if (s?.phase === 'Running' && s.reason !== 'CrashLoopBackOff') return `Running${ago(s.startedAt)}`;
  if (s?.phase === 'Pulling') return `Preparing${ago(c.metadata.creationTimestamp)}`;
  if (s?.phase === 'Succeeded') return `Complete${ago(s.finishedAt)}`;
  if (s?.phase === 'Failed' || s?.reason === 'CrashLoopBackOff') return `Failed${ago(s.finishedAt)}`;
  return `Assigned${ago(c.metadata.creationTimestamp)}`;
}

/** Swarm's ERROR column: why a replica is failing, quoted as docker quotes it. */
export function taskError(c: Container): string {
  const s = c.status;
  if (s === undefined) return '';
  if (s.phase === 'Failed' || s.reason === 'CrashLoopBackOff' || s.reason === 'ErrImagePull')
    return JSON.stringify(s.message ?? s.reason ?? 'failed');
  return '';
}

/** `web.1.0123456789ab@node-1`, the prefix docker service logs gives each replica's lines. */
export function taskLogName(task: Task, withId: boolean): string {
  return `${task.name}${withId ? `.${shortId(task.container)}` : ''}@${task.node === '' ? 'unassigned' : task.node}`;
}
