// A write to `pods/NAME/status` carried onto the Container's status. The node agent is the Pod's kubelet: phase,
// addresses and container states are its, computed from the Container. What a client may add are conditions of
// types of its own (readiness gates, a controller's marks), kept on the Container and shown on the Pod; changing
// anything else is a 422 naming the field.

import { forbidden, required, type FieldError } from '@berth/api';
import { invalid } from '../errors/api-error.js';
import { cloneJson, isPlainObject, jsonEqual, nowTimestamp, type KubeObject } from '../objects/object.js';
import { containerToPod, isClientCondition } from './pod-projection.js';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (isPlainObject(v) ? v : {});
const conditionsOf = (status: Json): Json[] =>
  Array.isArray(status['conditions']) ? status['conditions'].map(obj) : [];

/** The fields of a Pod condition a Container condition keeps. */
function asContainerCondition(c: Json, before: Json | undefined): Json {
  const out: Json = { type: c['type'], status: c['status'] };
  for (const k of ['reason', 'message'] as const) if (typeof c[k] === 'string' && c[k] !== '') out[k] = c[k];
  const changed = before === undefined || before['status'] !== c['status'];
  out['lastTransitionTime'] =
    typeof c['lastTransitionTime'] === 'string' && c['lastTransitionTime'] !== ''
      ? c['lastTransitionTime']
      : changed
        ? nowTimestamp()
        : before['lastTransitionTime'];
  return out;
}

/** The Container `current` becomes when its Pod's status is written as `written` says. */
export function podStatusWriteToContainer(current: KubeObject, written: KubeObject): KubeObject {
  const before = obj(containerToPod(current)['status']);
  const after = obj(written['status']);
  const problems: FieldError[] = [];
  const why = 'berth: the node agent writes it from the Container; a client may set only conditions of its own types';
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (k !== 'conditions' && !jsonEqual(before[k], after[k])) problems.push(forbidden(`status.${k}`, why));
  }
  const shown = conditionsOf(before);
  const theirs: Json[] = [];
  conditionsOf(after).forEach((c, i) => {
    if (typeof c['type'] !== 'string' || c['type'] === '') problems.push(required(`status.conditions[${i}].type`));
    else if (!isClientCondition(c)) {
      // Sent back as read (or left out): the projection computes it again.
      const was = shown.find((s) => s['type'] === c['type']);
      if (was !== undefined && was['status'] !== c['status'])
        problems.push(forbidden(`status.conditions[${i}]`, `the ${c['type']} condition is the node agent's`));
    } else theirs.push(c);
  });
  if (problems.length > 0) throw invalid('Pod', '', current.metadata.name ?? '', problems);
  const next = cloneJson(current);
  const status = obj(next['status']);
  const kept = conditionsOf(status);
  status['conditions'] = [
    ...kept.filter((c) => !isClientCondition(c)),
    ...theirs.map((c) =>
      asContainerCondition(
        c,
        kept.find((k) => k['type'] === c['type']),
      ),
    ),
  ];
  next['status'] = status;
  const rv = obj(written.metadata)['resourceVersion'];
  if (typeof rv === 'string' && rv !== '') next.metadata.resourceVersion = rv;
  else delete next.metadata.resourceVersion;
  return next;
}
