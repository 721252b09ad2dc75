// What a DELETE does to an object before it is gone, as Kubernetes' registry decides it (rest.BeforeDelete and
// the store's deletionFinalizersForGarbageCollection): the grace period of a kind that has one, the garbage
// collector's finalizers for the propagation policy, and the metadata of an object that stays terminating.

import { invalid as invalidField, notSupported, type FieldError } from '@berth/api';
import { badRequest, invalid } from '../errors/api-error.js';
import type { Strategy } from '../registry/strategy.js';
import { nowTimestamp, type KubeObject } from './object.js';

/** The garbage collector orphans the object's dependents (removes their ownerReferences to it), then removes this. */
export const orphanFinalizer = 'orphan';
/** The garbage collector deletes the object's dependents, then removes this once the blocking ones are gone. */
export const foregroundFinalizer = 'foregroundDeletion';

export type PropagationPolicy = 'Orphan' | 'Background' | 'Foreground';
/**
 * The longest grace period a deletion gets: what Go's time.Duration holds in seconds (~292 years). Longer ones (any
 * int64 is valid) would put deletionTimestamp past what a Date or RFC 3339 can write.
 */
const maxGraceSeconds = 9_223_372_036;
const policies: readonly string[] = ['Foreground', 'Background', 'Orphan'];

/** The parts of metav1.DeleteOptions that decide what a delete does (preconditions and dryRun are the store's). */
export interface DeletePropagation {
  readonly propagationPolicy?: PropagationPolicy;
  /** The deprecated form of Orphan (true) and Background (false); never together with propagationPolicy. */
  readonly orphanDependents?: boolean;
  /** For kinds with graceful deletion (Containers); a negative value means 1, as Kubernetes reads it. */
  readonly gracePeriodSeconds?: number;
}

/**
 * Reads the propagation fields of a DeleteOptions body, each also accepted as a query parameter (the body wins,
 * as Kubernetes decodes the query first and the body over it); invalid values are a 400 or 422 as Kubernetes'.
 */
export function parseDeletePropagation(body: Record<string, unknown>, query: URLSearchParams): DeletePropagation {
  const policy = body['propagationPolicy'] ?? query.get('propagationPolicy') ?? undefined;
  const orphan = body['orphanDependents'] ?? boolParam(query, 'orphanDependents');
  const grace = body['gracePeriodSeconds'] ?? intParam(query, 'gracePeriodSeconds');
  if (orphan !== undefined && orphan !== null && typeof orphan !== 'boolean')
    throw badRequest('orphanDependents: must be a boolean');
  if (grace !== undefined && grace !== null && !Number.isSafeInteger(grace))
    throw badRequest('gracePeriodSeconds: must be an integer');
  const problems: FieldError[] = [];
  if (policy !== undefined && policy !== null) {
    if (typeof policy !== 'string' || !policies.includes(policy))
      problems.push(notSupported('propagationPolicy', policy, [...policies, 'nil']));
    else if (orphan !== undefined && orphan !== null)
      problems.push(
        invalidField('propagationPolicy', policy, 'orphanDependents and deletionPropagation cannot be both set'),
      );
  }
  if (problems.length > 0) throw invalid('DeleteOptions', 'meta.k8s.io', '', problems);
  return {
    ...(typeof policy === 'string' ? { propagationPolicy: policy as PropagationPolicy } : {}),
    ...(typeof orphan === 'boolean' ? { orphanDependents: orphan } : {}),
    ...(typeof grace === 'number' ? { gracePeriodSeconds: grace < 0 ? 1 : grace } : {}),
  };
}

/** What a delete does to the object it finds. */
export type DeletionStep =
  /** A graceful deletion is already under way and this one does not shorten it: nothing changes. */
  | { readonly step: 'pending' }
  /** The object stays, terminating, as `object` (finalizers remain). */
  | { readonly step: 'mark'; readonly object: KubeObject }
  /** The object goes now. */
  | { readonly step: 'delete' };

/**
 * Decides what deleting `current` with `options` does. `next` is a copy of `current` this may change; `hasPending`
 * tells whether finalizers still hold an object (the kind's rule: a Namespace has two lists).
 */
export function planDeletion(
  strategy: Strategy,
  next: KubeObject,
  options: DeletePropagation,
  hasPending: (obj: KubeObject) => boolean,
  now: Date,
): DeletionStep {
  const grace = beforeDelete(strategy, next, options.gracePeriodSeconds, now);
  if (grace === 'pending') return { step: 'pending' };
  const finalizers = finalizersForPropagation(next.metadata.finalizers ?? [], options);
  if (finalizers !== undefined) next.metadata.finalizers = finalizers;
  // berth keeps a graceful object only while finalizers hold it: the node agent's finalizer is what waits for the
  // container to stop (where kubelet would send the final grace-0 DELETE), so nothing else would remove it later.
  if (!hasPending(next)) return { step: 'delete' };
  if (grace === undefined) markAsDeleting(next, now);
  return { step: 'mark', object: next };
}

/**
 * The grace period of a graceful kind (rest.BeforeDelete), set on `obj` as deletionTimestamp (now + grace) and
 * deletionGracePeriodSeconds; undefined when the kind or the object's state has none; 'pending' when a graceful
 * deletion already runs and only a shorter grace period may change it.
 */
function beforeDelete(
  strategy: Strategy,
  obj: KubeObject,
  requested: number | undefined,
  now: Date,
): number | 'pending' | undefined {
  if (strategy.gracePeriodOnDelete === undefined) return undefined;
  const meta = obj.metadata;
  if (meta.deletionTimestamp !== undefined) {
    const current = meta.deletionGracePeriodSeconds;
    // A deletion without grace (or a finished one) is not shortened: the finalizers decide.
    if (current === undefined || current <= 0) return undefined;
    if (requested === undefined || requested >= current) return 'pending';
    const started = Date.parse(meta.deletionTimestamp) - current * 1000;
    meta.deletionTimestamp = nowTimestamp(new Date(started + requested * 1000));
    meta.deletionGracePeriodSeconds = requested;
    return requested;
  }
  const period = Math.min(strategy.gracePeriodOnDelete(obj, requested), maxGraceSeconds);
  meta.deletionTimestamp = nowTimestamp(new Date(now.getTime() + period * 1000));
  meta.deletionGracePeriodSeconds = period;
  if ((meta.generation ?? 0) > 0) meta.generation = (meta.generation ?? 0) + 1;
  return period;
}

/** A kind without graceful deletion, held by finalizers: terminating from now, no grace (the store's markAsDeleting). */
function markAsDeleting(obj: KubeObject, now: Date): void {
  const meta = obj.metadata;
  if (meta.deletionTimestamp === undefined && (meta.generation ?? 0) > 0) meta.generation = (meta.generation ?? 0) + 1;
  if (meta.deletionTimestamp === undefined || Date.parse(meta.deletionTimestamp) > now.getTime())
    meta.deletionTimestamp = nowTimestamp(now);
  meta.deletionGracePeriodSeconds = 0;
}

/**
 * The finalizers the garbage collector needs for this delete: `orphan` for Orphan, `foregroundDeletion` for
 * Foreground, neither for Background (berth's kinds all default to Background); an explicit option wins over a
 * finalizer already there, which wins over the default. Undefined when the list stays as it is.
 */
export function finalizersForPropagation(
  finalizers: readonly string[],
  options: DeletePropagation,
): string[] | undefined {
  const orphan = shouldOrphan(finalizers, options);
  const foreground = !orphan && shouldDeleteInForeground(finalizers, options);
  const next = finalizers.filter((f) => f !== orphanFinalizer && f !== foregroundFinalizer);
  if (orphan) next.push(orphanFinalizer);
  if (foreground) next.push(foregroundFinalizer);
  const same = next.length === finalizers.length && next.every((f) => finalizers.includes(f));
  return same ? undefined : next;
}

function shouldOrphan(finalizers: readonly string[], options: DeletePropagation): boolean {
  if (options.orphanDependents !== undefined) return options.orphanDependents;
  if (options.propagationPolicy !== undefined) return options.propagationPolicy === 'Orphan';
  for (const f of finalizers) {
    if (f === orphanFinalizer) return true;
    if (f === foregroundFinalizer) return false;
  }
  return false;
}

function shouldDeleteInForeground(finalizers: readonly string[], options: DeletePropagation): boolean {
  if (options.orphanDependents !== undefined) return false;
  if (options.propagationPolicy !== undefined) return options.propagationPolicy === 'Foreground';
  for (const f of finalizers) {
    if (f === foregroundFinalizer) return true;
    if (f === orphanFinalizer) return false;
  }
  return false;
}

/** Both garbage-collector finalizers on one object contradict each other (Kubernetes' ValidateFinalizers). */
export function validateGcFinalizers(finalizers: readonly string[]): FieldError[] {
  return finalizers.includes(orphanFinalizer) && finalizers.includes(foregroundFinalizer)
    ? [
        invalidField(
          'metadata.finalizers',
          finalizers,
          `finalizer ${orphanFinalizer} and ${foregroundFinalizer} cannot be both set`,
        ),
      ]
    : [];
}

function boolParam(query: URLSearchParams, name: string): boolean | string | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  return v === 'true' ? true : v === 'false' ? false : v;
}

function intParam(query: URLSearchParams, name: string): number | string | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  return /^-?\d{1,15}$/.test(v) ? Number(v) : v;
}
