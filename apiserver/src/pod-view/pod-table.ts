// The cells of `kubectl get pods` as Kubernetes' printPod computes them for a one-container Pod: READY as
// ready/total, STATUS as the waiting or terminated reason before the phase (Terminating once deleted), RESTARTS
// with how long ago the last one was, and `<none>` for the wide columns a Pod leaves empty.

import { isPlainObject, type KubeObject } from '../objects/object.js';
import type { CellFunction } from '../table/computed-columns.js';
import { humanDuration } from '../table/human-duration.js';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (isPlainObject(v) ? v : {});
const text = (v: unknown): string => (typeof v === 'string' ? v : '');

const statuses = (pod: KubeObject): Json[] => {
  const s = obj(pod['status'])['containerStatuses'];
  return Array.isArray(s) ? s.map(obj) : [];
};
const containerCount = (pod: KubeObject): number => {
  const c = obj(pod['spec'])['containers'];
  return Array.isArray(c) ? c.length : 0;
};

const ready: CellFunction = (pod) =>
  `${statuses(pod).filter((s) => s['ready'] === true).length}/${containerCount(pod)}`;

const status: CellFunction = (pod) => {
  const podStatus = obj(pod['status']);
  let reason = text(podStatus['reason']) || text(podStatus['phase']);
  let running = false;
  for (const s of statuses(pod).reverse()) {
    const state = obj(s['state']);
    const waiting = obj(state['waiting']);
    const terminated = obj(state['terminated']);
    if (text(waiting['reason']) !== '') reason = text(waiting['reason']);
    else if (text(terminated['reason']) !== '') reason = text(terminated['reason']);
    else if (state['terminated'] !== undefined)
      reason =
        typeof terminated['signal'] === 'number' && terminated['signal'] !== 0
          ? `Signal:${terminated['signal']}`
          : `ExitCode:${String(terminated['exitCode'] ?? 0)}`;
    else if (s['ready'] === true && state['running'] !== undefined) running = true;
  }
  if (reason === 'Completed' && running) reason = 'Running';
  if (pod.metadata.deletionTimestamp !== undefined) reason = 'Terminating';
  return reason;
};

const restarts: CellFunction = (pod, now) => {
  let count = 0;
  let last = Number.NaN;
  for (const s of statuses(pod)) {
    count += typeof s['restartCount'] === 'number' ? s['restartCount'] : 0;
    const finished = Date.parse(text(obj(obj(s['lastState'])['terminated'])['finishedAt']));
    if (!Number.isNaN(finished) && (Number.isNaN(last) || finished > last)) last = finished;
  }
  return count > 0 && !Number.isNaN(last) ? `${count} (${humanDuration(now - last)} ago)` : String(count);
};

const orNone = (v: string): string => (v === '' ? '<none>' : v);

/** Per column name of the Pod kind (pod-kind.ts): the function that fills it. */
export const podCells: Readonly<Record<string, CellFunction>> = {
  Ready: ready,
  Status: status,
  Restarts: restarts,
  IP: (pod) => orNone(text(obj(pod['status'])['podIP'])),
  Node: (pod) => orNone(text(obj(pod['spec'])['nodeName'])),
  'Nominated Node': (pod) => orNone(text(obj(pod['status'])['nominatedNodeName'])),
  'Readiness Gates': () => '<none>',
};
