// The strategies a write goes through, per part of the object (Kubernetes' pod Strategy and podStatusStrategy):
// the main resource's resets status (it is written through /status), the status subresource's resets
// everything but status. Both wrap the kind's own hooks, so a kind writes its rules once.

import { cloneJson, type KubeObject } from '../objects/object.js';
import type { Resource } from './resource.js';
import type { ResetFields, Strategy } from './strategy.js';

/**
 * Which part of an object a write may change (the main resource ignores status; /status changes only status;
 * finalize and binding, the kind's own strategy for them: a Namespace's spec.finalizers, a Container's node).
 */
export type Subresource = 'main' | 'status' | 'finalize' | 'binding';

/** Resets every field: a write to a part its kind does not have changes nothing. */
const unchangeable: Strategy = {
  prepareForUpdate: (next, prev) => applyReset({ allBut: [] }, next, prev),
  getResetFields: () => ({ allBut: [] }),
};

/** The strategy for a write to `part` of `resource`. */
export function writeStrategy(resource: Resource, part: Subresource): Strategy {
  if (part === 'status') return derived(statusStrategies, resource.strategy, statusStrategy);
  if (part === 'finalize') return resource.strategy.finalize ?? unchangeable;
  if (part === 'binding') return resource.strategy.binding ?? unchangeable;
  return resource.subresources.status ? derived(mainStrategies, resource.strategy, mainStrategy) : resource.strategy;
}

// A strategy is a stateless value, so each kind's wrapped ones are made once: a write asks for its strategy
// several times (store, field ownership, admission), and each wrapping was a new object with three closures.
const mainStrategies = new WeakMap<Strategy, Strategy>();
const statusStrategies = new WeakMap<Strategy, Strategy>();

function derived(made: WeakMap<Strategy, Strategy>, kind: Strategy, make: (kind: Strategy) => Strategy): Strategy {
  let strategy = made.get(kind);
  if (strategy === undefined) made.set(kind, (strategy = make(kind)));
  return strategy;
}

const mainReset: ResetFields = { fields: ['status'] };
const statusReset: ResetFields = { allBut: ['status'] };

/**
 * The main resource of a kind with a status subresource: create starts without status (unless the kind keeps
 * the one it is given, as Node does), update keeps the old one.
 */
function mainStrategy(kind: Strategy): Strategy {
  return {
    ...kind,
    prepareForCreate(obj) {
      if (kind.statusOnCreate !== true) delete obj['status'];
      kind.prepareForCreate?.(obj);
    },
    prepareForUpdate(next, prev) {
      applyReset(mainReset, next, prev);
      kind.prepareForUpdate?.(next, prev);
    },
    getResetFields: () => mainReset,
  };
}

/** /status: only status changes (metadata, spec and every other field stay as stored); the kind still validates. */
function statusStrategy(kind: Strategy): Strategy {
  const { prepareForCreate: _create, prepareForUpdate: _update, ...rest } = kind;
  return {
    ...rest,
    prepareForUpdate(next, prev) {
      const resourceVersion = next.metadata.resourceVersion;
      applyReset(statusReset, next, prev);
      // The caller's resourceVersion stays: it is the precondition of the write, not part of what is kept.
      if (resourceVersion === undefined) delete next.metadata.resourceVersion;
      else next.metadata.resourceVersion = resourceVersion;
    },
    getResetFields: () => statusReset,
  };
}

/** Gives `next` the stored values of the fields `reset` names. */
export function applyReset(reset: ResetFields, next: KubeObject, prev: KubeObject): void {
  const keys =
    'fields' in reset
      ? reset.fields
      : [...new Set([...Object.keys(next), ...Object.keys(prev)])].filter((k) => !reset.allBut.includes(k));
  for (const k of keys) {
    if (prev[k] === undefined) delete next[k];
    else next[k] = cloneJson(prev[k]);
  }
}
