// A Service's replicas as Swarm's tasks: each in its slot (web.1, web.2, …), the number the service controller labels
// it with, which a replacement keeps, so `web.2` stays `web.2` across a rolling update or a replaced replica; a
// replica on its way out that shares a slot is listed under the live one as ` \_ web.2`, as docker service ps does.

import type { Container, Service } from '@berth/api';
import { formatLabelSelector, labelSelectorFromMeta } from '@berth/api/helpers';
import type { ApiClient } from '../api/client.js';
import { humanDuration, shortId } from '../docker/container-state.js';

/** The service controller's slot label (controllers/src/service/labels.ts). */
export const slotLabel = 'berth.dev/slot';

export interface Task {
  readonly container: Container;
  /** `web.1`, or ` \_ web.1` for an earlier task of the slot. */
  readonly name: string;
  readonly slot: number;
  readonly node: string;
}

const slotOf = (c: Container): number | undefined => {
  const n = Number(c.metadata.labels?.[slotLabel]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
};

/** The Containers the Service controls by slot, the live one of a slot first, with docker's task names. */
export async function serviceTasks(client: ApiClient, service: Service): Promise<Task[]> {
  const parsed = labelSelectorFromMeta(service.spec.selector);
  const selector = parsed === null ? undefined : formatLabelSelector(parsed);
  const owned = (await client.list<Container>('containers', selector)).filter((c) =>
    c.metadata.ownerReferences?.some((r) => r.controller === true && r.uid === service.metadata.uid),
  );
  const age = (a: Container, b: Container) =>
    (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') ||
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
  owned.sort(age);
  // A replica without a slot (made before slots, or adopted) takes the lowest one free, oldest first.
  const slots = new Map<Container, number>();
  const held = new Set(owned.map(slotOf).filter((s) => s !== undefined));
  let free = 1;
  for (const c of owned) {
    let slot = slotOf(c);
    if (slot === undefined) {
      while (held.has(free)) free++;
      slot = free;
      held.add(slot);
    }
    slots.set(c, slot);
  }
  const leaving = (c: Container) => (desiredState(c) === 'Running' ? 0 : 1);
  owned.sort((a, b) => (slots.get(a) ?? 0) - (slots.get(b) ?? 0) || leaving(a) - leaving(b) || age(b, a));
  const name = service.metadata.name ?? '';
  return owned.map((container, i) => {
    const slot = slots.get(container) ?? 0;
    const earlier = i > 0 && slots.get(owned[i - 1]!) === slot;
    return { container, slot, name: `${earlier ? ' \\_ ' : ''}${name}.${slot}`, node: container.spec.nodeName ?? '' };
  });
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
  return `${task.name.replace(/^ \\_ /, '')}${withId ? `.${shortId(task.container)}` : ''}@${task.node === '' ? 'unassigned' : task.node}`;
}
