// Applies a build with server-side apply under the field manager berth-gitops, forced (as Flux does: git is the
// source of truth, so a field another manager took is taken back). Each stage is dry-run whole first and applied
// only when every object passes; CRDs and Namespaces are a stage of their own, applied before the objects that
// need them. Kinds are looked up by discovery once per pass (a CRD applied a moment ago is seen at once). With
// `force`, an object whose change the server refuses as immutable is deleted and created again.
import { setTimeout as delay } from 'node:timers/promises';
import { ApiCallError, isNotFound, resourcePath, type ApiClient, type Resource } from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import { GitOpsError, messageOf } from '../errors.js';
import { describeRef, refOf, type ObjectRef } from './inventory.js';
import type { Manifest } from './manifests.js';

/** The field manager of every object a Sync applies. */
export const gitopsFieldManager = 'berth-gitops';

export interface PlannedObject extends Manifest {
  readonly ref: ObjectRef;
}

/** Resolves kinds through discovery, memoised for one pass. */
export class KindResolver {
  readonly #client: ApiClient;
  readonly #groups = new Map<string, Promise<Map<string, Resource>>>();

  constructor(client: ApiClient) {
    this.#client = client;
  }

  /** The kind's REST coordinates, or undefined when the server does not serve it. */
  async resolve(group: string, version: string, kind: string, signal: AbortSignal): Promise<Resource | undefined> {
    const key = `${group}/${version}`;
    let kinds = this.#groups.get(key);
    if (kinds === undefined) {
      kinds = this.#discover(group, version, signal);
      this.#groups.set(key, kinds);
    }
    return (await kinds).get(kind);
  }

  /** Forgets what was discovered (after CRDs were applied). */
  reset(): void {
    this.#groups.clear();
  }

  async #discover(group: string, version: string, signal: AbortSignal): Promise<Map<string, Resource>> {
    const path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    try {
      const list = (await this.#client.request('GET', path, { signal })) as {
        resources?: { name: string; kind: string; namespaced: boolean }[];
      };
      return new Map(
        (list.resources ?? [])
          .filter((r) => !r.name.includes('/'))
          .map((r) => [r.kind, { group, version, plural: r.name, kind: r.kind, namespaced: r.namespaced }]),
      );
    } catch (err) {
      if (ApiCallError.isInstance(err) && err.statusCode === 404) return new Map();
      throw err;
    }
  }
}

/** True for the objects applied in the first stage. */
export function isClusterDefinition(ref: ObjectRef): boolean {
  return (
    (ref.group === 'apiextensions.k8s.io' && ref.kind === 'CustomResourceDefinition') ||
    (ref.group === '' && ref.kind === 'Namespace')
  );
}

/**
 * Dry-runs every object of the stage, then applies them all. Throws BERTH_GITOPS_VALIDATION naming every object
 * that failed the dry run (nothing applied), or BERTH_GITOPS_APPLY when the real apply fails after a clean dry run.
 */
export async function applyStage(
  client: ApiClient,
  kinds: KindResolver,
  objects: readonly PlannedObject[],
  options: { readonly force: boolean; readonly signal: AbortSignal },
): Promise<void> {
  const { signal } = options;
  const resources = await Promise.all(objects.map((o) => resourceFor(kinds, o, signal)));
  const failures: string[] = [];
  // Whole seconds, as managedFields times are, less 2 s for the API server's clock being behind ours (Leases
  // assume clocks that close too): a change stamped in that window is applied again, which is only a no-op.
  const since = Math.floor(Date.now() / 1000) * 1000 - 2000;
  const unchanged = new Set<number>();
  const recreate = new Set<number>();
  await eachLimited(objects, async (o, i) => {
    const r = resources[i];
    if (r === undefined) {
      failures.push(`${o.file}: ${describeRef(o.ref)}: the server has no kind ${o.ref.kind} in ${o.object.apiVersion}`);
      return;
    }
    try {
      const dry = await serverSideApply(client, r, o, true, signal);
      if (unchangedByApply(dry, since)) unchanged.add(i);
    } catch (err) {
      if (signal.aborted) throw err;
      if (options.force && isImmutableFieldError(err)) recreate.add(i);
      else failures.push(`${o.file}: ${describeRef(o.ref)}: ${messageOf(err)}`);
    }
  });
  if (failures.length > 0)
    throw new GitOpsError('BERTH_GITOPS_VALIDATION', `dry-run failed, nothing applied: ${failures.sort().join('; ')}`);
  await eachLimited(objects, async (o, i) => {
    if (unchanged.has(i)) return;
    try {
      if (recreate.has(i)) await deleteAndWait(client, resources[i]!, o, signal);
      await serverSideApply(client, resources[i]!, o, false, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new GitOpsError('BERTH_GITOPS_APPLY', `${o.file}: ${describeRef(o.ref)}: ${messageOf(err)}`, {
        cause: err,
      });
    }
  });
}

/** A 422 whose causes say a field cannot change (ConfigMap/Secret `immutable`, a CEL transition rule, a CRD's scope). */
function isImmutableFieldError(err: unknown): boolean {
  if (!ApiCallError.isInstance(err) || err.statusCode !== 422) return false;
  const causes = (err.status?.['details'] as { causes?: { message?: string }[] } | undefined)?.causes ?? [];
  return causes.some((c) => /immutable/i.test(c.message ?? ''));
}

/** How long a forced recreate waits for the old object (its finalizers) to go. */
const recreateTimeoutMs = 30_000;

/**
 * Deletes the object and waits until it is gone (its own finalizers done). Background propagation, as Flux's
 * recreate: the garbage collector removes its dependents after, so the new object need not wait for them.
 */
async function deleteAndWait(client: ApiClient, r: Resource, o: PlannedObject, signal: AbortSignal): Promise<void> {
  const path = resourcePath(r, r.namespaced ? o.ref.namespace : undefined, o.ref.name);
  try {
    await client.request('DELETE', path, { body: { propagationPolicy: 'Background' }, signal });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  for (const end = Date.now() + recreateTimeoutMs; Date.now() < end; ) {
    try {
      await client.request('GET', path, { signal });
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    await delay(200, undefined, { signal });
  }
  throw new GitOpsError(
    'BERTH_GITOPS_APPLY',
    `${describeRef(o.ref)} was not gone ${recreateTimeoutMs / 1000} s after its delete`,
  );
}

/** Requests in flight at once: enough to hide round trips, few enough not to crowd the API server. */
const concurrency = 8;

/** Runs `fn` over `items`, `concurrency` at a time; the first failure is thrown once all started ones settle. */
async function eachLimited<T>(items: readonly T[], fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** PATCH with application/apply-patch+yaml (a no-op apply is no write on the server); returns the result. */
async function serverSideApply(
  client: ApiClient,
  r: Resource,
  o: PlannedObject,
  dryRun: boolean,
  signal: AbortSignal,
): Promise<KubernetesObject | undefined> {
  const path = resourcePath(r, r.namespaced ? o.ref.namespace : undefined, o.ref.name);
  return (await client.request('PATCH', path, {
    body: o.object,
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: gitopsFieldManager, force: 'true', ...(dryRun ? { dryRun: 'All' } : {}) },
    signal,
  })) as KubernetesObject | undefined;
}

/**
 * True when a dry-run apply changed nothing, so the real one can be skipped: the object exists and this
 * manager's Apply entry kept a time from before the pass began (an apply that changes anything stamps it now,
 * as Kubernetes does). Unsure (no entry, this second's time) means apply for real, which is always safe.
 */
function unchangedByApply(dry: KubernetesObject | undefined, since: number): boolean {
  const entry = dry?.metadata?.managedFields?.find((f) => f.manager === gitopsFieldManager && f.operation === 'Apply');
  const time = entry?.time === undefined ? Number.NaN : new Date(entry.time).getTime();
  return dry?.metadata?.uid !== undefined && time < since;
}

async function resourceFor(kinds: KindResolver, o: PlannedObject, signal: AbortSignal): Promise<Resource | undefined> {
  return kinds.resolve(o.ref.group, o.ref.version, o.ref.kind, signal);
}

/** Plans a build: namespaces defaulted (or forced to targetNamespace), ownership labels added. */
export async function planObjects(
  kinds: KindResolver,
  manifests: readonly Manifest[],
  defaults: { namespace: string; targetNamespace: string | undefined; labels: Record<string, string> },
  signal: AbortSignal,
): Promise<PlannedObject[]> {
  const planned: PlannedObject[] = [];
  const seen = new Map<string, string>();
  for (const m of manifests) {
    const object = structuredClone(m.object);
    const first = refOf(object);
    const r = isClusterDefinition(first)
      ? undefined
      : await kinds.resolve(first.group, first.version, first.kind, signal);
    // An unknown kind is taken as namespaced (it may come with a CRD of the same build); the dry run decides.
    const namespaced = r === undefined ? !isClusterDefinition(first) : r.namespaced;
    const metadata = { ...(object.metadata ?? {}) };
    if (namespaced) metadata.namespace = defaults.targetNamespace ?? metadata.namespace ?? defaults.namespace;
    else delete metadata.namespace;
    metadata.labels = { ...(metadata.labels ?? {}), ...defaults.labels };
    object.metadata = metadata;
    const ref = refOf(object);
    const key = describeRef(ref);
    const dup = seen.get(key);
    if (dup !== undefined) throw new GitOpsError('BERTH_GITOPS_BUILD', `${m.file}: ${key} is also defined in ${dup}`);
    seen.set(key, m.file);
    planned.push({ file: m.file, object, ref });
  }
  return planned;
}
