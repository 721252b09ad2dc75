// ResourceQuota admission for object counts (Kubernetes' ResourceQuota plugin with its object-count evaluator):
// a create in a namespace is checked against every ResourceQuota there whose hard limits count that resource
// (`count/<plural>.<group>`, or a core short form such as `configmaps`). Past a limit it is a 403 worded as
// Kubernetes words it (`exceeded quota: q, requested: …, used: …, limited: …`); a quota whose status the
// controller has not filled yet refuses too (`status unknown for quota`). An admitted create is charged at once,
// on the quota's status.used, one compare-and-swap per quota, so concurrent creates cannot both take the last
// slot; the quota controller recounts from what exists (deletes release, a failed write's charge is undone).

import { countKeysFor, countsOnlyRunning, parseQuantity, quantityValue } from '@berth/api';
import { ApiError } from '../../errors/api-error.js';
import type { ObjectStore } from '../../objects/object-store.js';
import { isPlainObject, type KubeObject } from '../../objects/object.js';
import type { Resource } from '../../registry/resource.js';
import type { AdmissionAttributes, ValidatingAdmission } from '../admission.js';

type Amounts = Record<string, unknown>;

const amounts = (v: unknown): Amounts => (isPlainObject(v) ? v : {});
const count = (v: unknown): bigint => {
  if (typeof v !== 'string' && typeof v !== 'number') return 0n;
  try {
    return quantityValue(parseQuantity(v));
  } catch {
    return 0n;
  }
};
const pretty = (keys: readonly string[], value: (k: string) => bigint | number) =>
  keys.map((k) => `${k}=${value(k)}`).join(',');

/** A finished Container is not counted by `pods`, as Kubernetes does not count Succeeded or Failed Pods. */
const finished = (obj: KubeObject): boolean => {
  const phase = amounts(obj['status'])['phase'];
  return phase === 'Succeeded' || phase === 'Failed';
};

function forbidden(a: AdmissionAttributes, why: string): ApiError {
  const r = a.resource;
  const what = r.group === '' ? r.plural : `${r.plural}.${r.group}`;
  return new ApiError('Forbidden', `${what}${a.name === '' ? '' : ` "${a.name}"`} is forbidden: ${why}`, {
    ...(a.name === '' ? {} : { name: a.name }),
    group: r.group,
    kind: r.plural,
  });
}

/** A quota changed meanwhile (another charge, the controller's recount) is read again, as Kubernetes retries. */
async function chargeWithRetries(write: () => Promise<unknown>): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      return;
    } catch (e) {
      if (!(ApiError.isInstance(e) && e.reason === 'Conflict') || attempt >= 20) throw e;
    }
  }
}

/** `objects` is asked for lazily: the plugin is built before the store that runs it. */
export function resourceQuota(objects: () => ObjectStore, quotas: () => Resource | undefined): ValidatingAdmission {
  return {
    name: 'ResourceQuota',
    async validate(a) {
      if (a.operation !== 'CREATE' || a.subresource !== undefined || a.namespace === undefined) return;
      const resource = quotas();
      if (resource === undefined) return;
      const scope = { resource, namespace: a.namespace };
      const counted = { group: a.resource.group, plural: a.resource.plural };
      const { items } = await objects().list(scope, {});
      for (const quota of items) {
        const keys = countKeysFor(amounts(amounts(quota['spec'])['hard']), counted).filter(
          (k) => !(countsOnlyRunning(k) && finished(a.object)),
        );
        if (keys.length === 0) continue;
        const charge = (q: KubeObject): KubeObject => {
          const status = amounts(q['status']);
          const hard = amounts(status['hard']);
          const used = amounts(status['used']);
          const unknown = keys.filter((k) => hard[k] === undefined);
          if (unknown.length > 0)
            throw forbidden(
              a,
              `status unknown for quota: ${q.metadata.name ?? ''}, resources: ${[...unknown].sort().join(',')}`,
            );
          const exceeded = keys.filter((k) => count(used[k]) + 1n > count(hard[k])).sort();
          if (exceeded.length > 0)
            throw forbidden(
              a,
              `exceeded quota: ${q.metadata.name ?? ''}, requested: ${pretty(exceeded, () => 1)}, used: ${pretty(exceeded, (k) => count(used[k]))}, limited: ${pretty(exceeded, (k) => count(hard[k]))}`,
            );
          const next: Amounts = { ...used };
          for (const k of keys) next[k] = String(count(used[k]) + 1n);
          return { ...q, status: { ...status, used: next } };
        };
        if (a.dryRun) {
          charge(quota);
          continue;
        }
        await chargeWithRetries(() =>
          objects().update(scope, quota.metadata.name ?? '', 'status', charge, {
            dryRun: false,
            fieldValidation: 'Ignore',
            warnings: [],
          }),
        );
      }
    },
  };
}
