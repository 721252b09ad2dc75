// The generic store every resource goes through (Kubernetes' registry Store): create, update, patch-to-update,
// delete with finalizers, get, list with selectors and paging. Per-kind behaviour comes from the strategy of the
// part written (main or /status), admission from the plugin lists; stale resourceVersions, no-op writes and
// namespace checks are decided here, once.

import { randomUUID } from 'node:crypto';
import type { FieldError } from '@berth/api';
import { alreadyExists, ApiError, badRequest, invalid, notFound, staleResourceVersion } from '../errors/api-error.js';
import { objectMetaSchema } from '../registry/object-meta-schema.js';
import {
  admitMutating,
  admitValidating,
  noAdmission,
  type Admission,
  type AdmissionAttributes,
  type AdmissionOperation,
} from '../admission/admission.js';
import type { UserInfo } from '../authentication/authenticator.js';
import { writeStrategy, type Subresource } from '../registry/status-strategy.js';
import { pendingFinalizers, type Strategy } from '../registry/strategy.js';
import { collectionPrefix, groupVersion, objectKey, type Resource } from '../registry/resource.js';
import type { ResourceRegistry } from '../registry/registry.js';
import { applyDefaults, hasDefaults } from '../schema/defaults.js';
import { pruneUnknownFields } from '../schema/prune.js';
import { validateAgainstSchema } from '../schema/validate.js';
import { validateRules } from '../schema/cel/validator.js';
import { unchangedAt } from '../schema/ratcheting.js';
import { validateListTypes } from '../schema/list-types.js';
import type { Store, StoredValue } from '../storage/interface.js';
import { validateMetadataTypes, validateObjectMeta, validateMetadataUpdate } from './metadata-validation.js';
import { cloneJson, jsonEqual, nowTimestamp, type KubeObject } from './object.js';
import type { ObjectFilter } from './selectors.js';
import { planDeletion, validateGcFinalizers, type DeletePropagation } from './deletion.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** What an update's mutate function returns when it already knows the write changes nothing. */
export const noChange: unique symbol = Symbol('berth.noChange');

export interface WriteOptions {
  readonly dryRun: boolean;
  readonly fieldValidation: FieldValidation;
  /** Unknown-field warnings are appended here when fieldValidation is Warn. */
  readonly warnings: string[];
  /** Records who changed which fields (managedFields); set by the caller for the write's manager. */
  readonly trackFields?: (before: KubeObject | undefined, after: KubeObject) => void;
  /** Who writes, for admission; undefined for the server's own writes. */
  readonly user?: UserInfo;
}

export interface DeleteOptions extends DeletePropagation {
  readonly dryRun: boolean;
  readonly preconditions?: { uid?: string; resourceVersion?: string };
  readonly user?: UserInfo;
  /** Admission warnings are appended here. */
  readonly warnings?: string[];
}

export interface ObjectScope {
  readonly resource: Resource;
  readonly namespace: string | undefined;
}

export type { Subresource } from '../registry/status-strategy.js';

const namespaceResource = { group: '', plural: 'namespaces' };

/** Parses a stored value; every stored object is JSON written by this module. */
export const decode = (v: StoredValue): KubeObject => JSON.parse(v.value) as KubeObject;

/** A deletion in progress: the object stays until its finalizers are gone. */
export const isTerminating = (obj: KubeObject): boolean => obj.metadata.deletionTimestamp !== undefined;

/** What a write into a namespace needs to know of it (whether it takes new objects, its labels for admission). */
export interface NamespaceState {
  readonly terminating: boolean;
  readonly labels: Readonly<Record<string, string>>;
}

/** Namespaces whose decoded state is kept; past it the oldest goes (a server has few, every create reads one). */
const NAMESPACE_STATES_MAX = 1024;

/** Entries of one resource's read-as-stored notes before they are dropped (deleted keys leave theirs behind). */
const asStoredNotesMax = 200_000;

export class ObjectStore {
  /** The stored text of objects `create` returned unchanged (writtenJson). */
  readonly #written = new WeakMap<KubeObject, string>();
  /** Each namespace's state as of the stored revision it was decoded from, so a create parses no Namespace. */
  readonly #namespaces = new Map<string, { readonly modRevision: number; readonly state: NamespaceState }>();
  /**
   * Per resource (a new Resource when its CRD changes), the stored values known to read back exactly as stored
   * (served apiVersion, every default present): key → modRevision. A list serves those as the stored text, and
   * reads them without walking the schema again.
   */
  readonly #asStored = new WeakMap<Resource, Map<string, number>>();

  constructor(
    readonly store: Store,
    readonly registry: ResourceRegistry,
    /** Mutating then validating plugins every create, update and delete passes. */
    private readonly admission: Admission = noAdmission,
  ) {}

  async get(scope: ObjectScope, name: string): Promise<KubeObject> {
    const stored = await this.store.get(objectKey(scope.resource, scope.namespace, name));
    if (stored === undefined) throw notFound(scope.resource, name);
    return this.#presentStored(scope.resource, stored, decode(stored));
  }

  async list(
    scope: ObjectScope,
    options: { filter?: ObjectFilter; limit?: number; continueToken?: string },
  ): Promise<{ items: KubeObject[]; revision: number; continueToken?: string; remaining?: number }> {
    const startAfter = options.continueToken === undefined ? undefined : decodeContinue(options.continueToken);
    const filter = options.filter;
    const parsed = new Map<string, KubeObject>();
    const result = await this.store.list({
      prefix: collectionPrefix(scope.resource, scope.namespace),
      ...(options.limit === undefined || options.limit <= 0 ? {} : { limit: options.limit }),
      ...(startAfter === undefined ? {} : { startAfter }),
      ...(filter === undefined
        ? {}
        : {
            filter: (item: StoredValue) => {
              const obj = decode(item);
              if (!filter(obj)) return false;
              parsed.set(item.key, obj);
              return true;
            },
          }),
    });
    const items = result.items.map((i) => this.#presentStored(scope.resource, i, parsed.get(i.key) ?? decode(i)));
    return {
      items,
      revision: result.revision,
      ...(result.next === undefined ? {} : { continueToken: encodeContinue(result.next) }),
    };
  }

  /**
   * `list` without a filter, each item as JSON text: a value that reads back as stored is its stored text, never
   * parsed or serialised again (most of a big list's cost); any other is presented and serialised.
   */
  async listJson(
    scope: ObjectScope,
    options: { limit?: number; continueToken?: string },
  ): Promise<{ items: string[]; revision: number; continueToken?: string }> {
    const { resource } = scope;
    const startAfter = options.continueToken === undefined ? undefined : decodeContinue(options.continueToken);
    const result = await this.store.list({
      prefix: collectionPrefix(resource, scope.namespace),
      ...(options.limit === undefined || options.limit <= 0 ? {} : { limit: options.limit }),
      ...(startAfter === undefined ? {} : { startAfter }),
    });
    const notes = this.#asStored.get(resource);
    const items = result.items.map((i) => {
      if (notes?.get(i.key) === i.modRevision) return i.value;
      const obj = this.#presentStored(resource, i, decode(i));
      return this.#asStored.get(resource)?.get(i.key) === i.modRevision ? i.value : JSON.stringify(obj);
    });
    return {
      items,
      revision: result.revision,
      ...(result.next === undefined ? {} : { continueToken: encodeContinue(result.next) }),
    };
  }

  /** #present for an object decoded from `stored`, noting when that left it as stored. */
  #presentStored(resource: Resource, stored: StoredValue, obj: KubeObject): KubeObject {
    let notes = this.#asStored.get(resource);
    if (notes?.get(stored.key) === stored.modRevision) return obj;
    if (!this.#presented(resource, obj)) {
      if (notes === undefined) this.#asStored.set(resource, (notes = new Map()));
      else if (notes.size >= asStoredNotesMax) notes.clear();
      notes.set(stored.key, stored.modRevision);
    }
    return obj;
  }

  /** Creates an object from `obj`, which the store takes ownership of (callers pass freshly decoded bodies). */
  async create(scope: ObjectScope, obj: KubeObject, options: WriteOptions): Promise<KubeObject> {
    const { resource } = scope;
    this.#checkEnvelope(scope, obj);
    if (resource.namespaced) await this.#checkNamespaceWritable(obj.metadata.namespace ?? '');
    if (
      (obj.metadata.name ?? '') === '' &&
      obj.metadata.generateName !== undefined &&
      obj.metadata.generateName !== ''
    ) {
      obj.metadata.name = obj.metadata.generateName + randomSuffix();
    }
    this.#cleanInput(resource, obj, options, 'main');
    const strategy = writeStrategy(resource, 'main');
    const attributes = admissionAttributes('CREATE', scope, undefined, obj, undefined, options);
    options.warnings.push(...(await admitMutating(this.admission, attributes)));
    const now = nowTimestamp();
    const meta = obj.metadata;
    meta.uid = randomUUID();
    meta.creationTimestamp = now;
    meta.generation = 1;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.resourceVersion;
    strategy.prepareForCreate?.(obj);
    strategy.canonicalize?.(obj);
    this.#validate(scope, strategy, obj, undefined, options.warnings);
    options.warnings.push(...(strategy.warningsOnCreate?.(obj) ?? []));
    options.warnings.push(...(await admitValidating(this.admission, attributes)));
    options.trackFields?.(undefined, obj);
    dropEmptyMaps(obj);
    const stored = this.#toStorage(resource, obj);
    if (options.dryRun) {
      const existing = await this.store.get(objectKey(resource, scope.namespace, meta.name ?? ''));
      if (existing !== undefined) throw alreadyExists(resource, meta.name ?? '');
      return this.#present(resource, stored);
    }
    const key = objectKey(resource, scope.namespace, meta.name ?? '');
    const rendered = { revision: -1, json: '' };
    const result = await this.store.create(key, (rev) => {
      rendered.json = render(stored, rev);
      rendered.revision = rev;
      return rendered.json;
    });
    if (!result.ok) throw alreadyExists(resource, meta.name ?? '');
    stored.metadata.resourceVersion = String(result.revision);
    // Served as stored (same version, nothing defaulted on read): the answer is the text just written.
    if (!this.#presented(resource, stored) && rendered.revision === result.revision)
      this.#written.set(stored, rendered.json);
    return stored;
  }

  /**
   * The JSON text of `obj` when it is an object `create` returned exactly as it stored it, so the answer need
   * not serialize it again; undefined for anything else. Callers ask before they change the object.
   */
  writtenJson(obj: KubeObject): string | undefined {
    return this.#written.get(obj);
  }

  /**
   * Replaces an object with what `mutate` makes of the current one (PUT, every patch type, status writes),
   * retrying on concurrent writes unless the caller pinned a resourceVersion.
   */
  async update(
    scope: ObjectScope,
    name: string,
    subresource: Subresource,
    mutate: (current: KubeObject) => KubeObject | typeof noChange | Promise<KubeObject | typeof noChange>,
    options: WriteOptions,
    createIfMissing?: () => Promise<KubeObject>,
  ): Promise<{ object: KubeObject; created: boolean }> {
    const { resource } = scope;
    const key = objectKey(resource, scope.namespace, name);
    // Warnings of the attempt that ends the call only: a retried attempt starts over.
    let warnings: string[] = [];
    try {
      for (let attempt = 0; ; attempt++) {
        warnings = [];
        const stored = await this.store.get(key);
        if (stored === undefined) {
          if (createIfMissing === undefined) throw notFound(resource, name);
          return { object: await createIfMissing(), created: true };
        }
        const current = this.#present(resource, decode(stored));
        const mutated = await mutate(cloneJson(current));
        if (mutated === noChange) return { object: current, created: false };
        const next = mutated;
        this.#checkEnvelope(scope, next, name);
        const pinned = next.metadata.resourceVersion;
        if (pinned !== undefined && pinned !== '' && pinned !== current.metadata.resourceVersion) {
          throw staleResourceVersion(resource, name);
        }
        this.#cleanInput(resource, next, options, subresource);
        this.#carryServerFields(next, current);
        const strategy = writeStrategy(resource, subresource);
        const attributes = admissionAttributes('UPDATE', scope, subresource, next, current, options);
        warnings = await admitMutating(this.admission, attributes);
        strategy.prepareForUpdate?.(next, current);
        strategy.canonicalize?.(next);
        this.#validate(scope, strategy, next, current, warnings);
        warnings.push(...(strategy.warningsOnUpdate?.(next, current) ?? []));
        warnings.push(...(await admitValidating(this.admission, attributes)));
        options.trackFields?.(current, next);
        dropEmptyMaps(next);
        if (bumpsGeneration(next, current)) next.metadata.generation = (current.metadata.generation ?? 0) + 1;
        const finished = isTerminating(next) && pendingFinalizers(resource.strategy, next).length === 0;
        if (unchanged(next, current) && !finished) return { object: current, created: false };
        if (options.dryRun) return { object: this.#present(resource, this.#toStorage(resource, next)), created: false };
        if (finished) {
          const result = await this.store.delete(key, stored.modRevision);
          if (result.ok)
            return {
              object: { ...next, metadata: { ...next.metadata, resourceVersion: String(result.revision) } },
              created: false,
            };
        } else {
          const toStore = this.#toStorage(resource, next);
          const result = await this.store.update(key, stored.modRevision, (rev) => render(toStore, rev));
          if (result.ok) {
            toStore.metadata.resourceVersion = String(result.revision);
            return { object: this.#present(resource, toStore), created: false };
          }
        }
        if (pinned !== undefined && pinned !== '') throw staleResourceVersion(resource, name);
        if (attempt > 50) throw staleResourceVersion(resource, name);
      }
    } finally {
      options.warnings.push(...warnings);
    }
  }

  /**
   * Deletes an object, or marks it terminating while finalizers remain. Returns the object as it is after the
   * call and whether it is gone.
   */
  async delete(
    scope: ObjectScope,
    name: string,
    options: DeleteOptions,
  ): Promise<{ object: KubeObject; gone: boolean }> {
    const { resource } = scope;
    const key = objectKey(resource, scope.namespace, name);
    let warnings: string[] = [];
    try {
      for (;;) {
        warnings = [];
        const stored = await this.store.get(key);
        if (stored === undefined) throw notFound(resource, name);
        const current = this.#present(resource, decode(stored));
        const pre = options.preconditions;
        if (pre?.uid !== undefined && pre.uid !== current.metadata.uid) {
          throw new ApiError(
            'Conflict',
            `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
            { name, group: resource.group, kind: resource.plural },
          );
        }
        if (pre?.resourceVersion !== undefined && pre.resourceVersion !== current.metadata.resourceVersion) {
          throw new ApiError(
            'Conflict',
            `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
            { name, group: resource.group, kind: resource.plural },
          );
        }
        warnings = await admitValidating(
          this.admission,
          admissionAttributes('DELETE', scope, undefined, current, undefined, options),
        );
        const plan = planDeletion(
          resource.strategy,
          cloneJson(current),
          options,
          (obj) => pendingFinalizers(resource.strategy, obj).length > 0,
          new Date(),
        );
        if (plan.step === 'pending') return { object: current, gone: false };
        if (plan.step === 'mark') {
          const next = plan.object;
          resource.strategy.onTerminating?.(next);
          // Deleting again what is already terminating, the same way, changes nothing: no write, no event.
          if (jsonEqual(next, current)) return { object: current, gone: false };
          if (options.dryRun) return { object: next, gone: false };
          const toStore = this.#toStorage(resource, next);
          const result = await this.store.update(key, stored.modRevision, (rev) => render(toStore, rev));
          if (!result.ok) continue;
          toStore.metadata.resourceVersion = String(result.revision);
          return { object: this.#present(resource, toStore), gone: false };
        }
        if (options.dryRun) return { object: current, gone: true };
        const result = await this.store.delete(key, stored.modRevision);
        if (!result.ok) continue;
        return {
          object: { ...current, metadata: { ...current.metadata, resourceVersion: String(result.revision) } },
          gone: true,
        };
      }
    } finally {
      options.warnings?.push(...warnings);
    }
  }

  /** Body must name this resource's group/kind (any served version) and agree with the URL. */
  #checkEnvelope(scope: ObjectScope, obj: KubeObject, urlName?: string): void {
    const { resource } = scope;
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
      throw badRequest('the body of the request must be a JSON object');
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
    dropMetadataNulls(obj.metadata);
    const typeProblems = validateMetadataTypes(obj.metadata);
    if (typeProblems.length > 0) {
      const name = typeof obj.metadata.name === 'string' ? obj.metadata.name : '';
      throw invalid(resource.kind, resource.group, name, typeProblems);
    }
    const expected = groupVersion(resource);
    if (obj.apiVersion === undefined || obj.apiVersion === '') obj.apiVersion = expected;
    if (obj.kind === undefined || obj.kind === '') obj.kind = resource.kind;
    if (obj.kind !== resource.kind) {
      throw badRequest(
        `the kind in the data (${String(obj.kind)}) does not match the expected kind (${resource.kind})`,
      );
    }
    const bodyVersion = String(obj.apiVersion);
    if (
      groupOf(bodyVersion) !== resource.group ||
      this.registry.get(resource.group, versionOf(bodyVersion), resource.plural) === undefined
    ) {
      throw badRequest(
        `the API version in the data (${bodyVersion}) does not match the expected API version (${expected})`,
      );
    }
    obj.apiVersion = expected;
    const meta = obj.metadata;
    if (resource.namespaced) {
      if (meta.namespace === undefined || meta.namespace === '') meta.namespace = scope.namespace ?? '';
      else if (scope.namespace !== undefined && meta.namespace !== scope.namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
    } else {
      delete meta.namespace;
    }
    if (urlName !== undefined && meta.name !== undefined && meta.name !== '' && meta.name !== urlName) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${urlName})`);
    }
    if (urlName !== undefined && (meta.name === undefined || meta.name === '')) meta.name = urlName;
  }

  /** Prunes undeclared fields (per fieldValidation) and applies schema defaults. */
  #cleanInput(resource: Resource, obj: KubeObject, options: WriteOptions, subresource: Subresource): void {
    const { metadata, ...rest } = obj;
    const unknown = pruneUnknownFields(rest, resource.schema, [], true);
    Object.assign(obj, rest);
    for (const k of Object.keys(obj)) if (!(k in rest) && k !== 'metadata') delete obj[k];
    unknown.push(...pruneUnknownFields(metadata, objectMetaSchema, ['metadata']));
    if (unknown.length > 0) {
      if (options.fieldValidation === 'Strict') {
        throw badRequest(
          `${resource.kind} in version "${resource.version}" cannot be handled as a ${resource.kind}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`,
        );
      }
      if (options.fieldValidation === 'Warn') for (const f of unknown) options.warnings.push(`unknown field "${f}"`);
    }
    if (subresource === 'main' || resource.subresources.status) applyDefaults(obj, resource.schema);
  }

  /** Server-owned metadata comes from the stored object whatever the client sent. */
  #carryServerFields(next: KubeObject, current: KubeObject): void {
    const meta = next.metadata;
    const cur = current.metadata;
    for (const k of [
      'uid',
      'creationTimestamp',
      'generation',
      'namespace',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
    ] as const) {
      if (cur[k] === undefined) delete meta[k];
      else (meta as Record<string, unknown>)[k] = cur[k];
    }
  }

  #validate(
    scope: ObjectScope,
    strategy: Strategy,
    obj: KubeObject,
    prev: KubeObject | undefined,
    warnings: string[],
  ): void {
    const { resource } = scope;
    const problems: FieldError[] = validateObjectMeta(
      obj.metadata,
      resource.namespaced,
      resource.kind === 'Namespace',
      strategy.validateName,
    );
    problems.push(...validateGcFinalizers(obj.metadata.finalizers ?? []));
    if (prev !== undefined) problems.push(...validateMetadataUpdate(obj.metadata, prev.metadata));
    const { metadata: _, ...rest } = obj;
    const schemaProblems = validateAgainstSchema(rest, resource.schema);
    // Custom resources ratchet (as Kubernetes does): an error on a value the update did not change is dropped.
    const ratchet = prev !== undefined && !resource.builtin;
    problems.push(...(ratchet ? schemaProblems.filter((p) => !unchangedAt(p.field, obj, prev)) : schemaProblems));
    if (!resource.builtin) problems.push(...validateListTypes(rest, resource.schema));
    problems.push(...validateRules(resource.schema, obj, prev, ratchet ? warnings : undefined));
    problems.push(...(strategy.validate?.(obj) ?? []));
    if (prev !== undefined) problems.push(...(strategy.validateUpdate?.(obj, prev) ?? []));
    if (problems.length > 0) throw invalid(resource.kind, resource.group, obj.metadata.name ?? '', problems);
  }

  /**
   * A Namespace's state, read from the store on every call (so it is never stale) and decoded only when its
   * revision moved; undefined when it does not exist or namespaces are not served.
   */
  async namespaceState(name: string): Promise<NamespaceState | undefined> {
    const nsResource = this.registry.get('', 'v1', 'namespaces');
    if (nsResource === undefined) return undefined;
    const stored = await this.store.get(objectKey(nsResource, undefined, name));
    if (stored === undefined) return undefined;
    const known = this.#namespaces.get(name);
    if (known !== undefined && known.modRevision === stored.modRevision) return known.state;
    const obj = decode(stored);
    const state: NamespaceState = {
      terminating: isTerminating(obj),
      labels: Object.freeze({ ...(obj.metadata.labels ?? {}) }),
    };
    this.#namespaces.delete(name);
    if (this.#namespaces.size >= NAMESPACE_STATES_MAX)
      this.#namespaces.delete(this.#namespaces.keys().next().value as string);
    this.#namespaces.set(name, { modRevision: stored.modRevision, state });
    return state;
  }

  async #checkNamespaceWritable(namespace: string): Promise<void> {
    if (namespace === '') throw badRequest('a namespace must be specified');
    if (this.registry.get('', 'v1', 'namespaces') === undefined) return;
    const state = await this.namespaceState(namespace);
    if (state === undefined) throw notFound(namespaceResource, namespace);
    if (state.terminating) {
      throw new ApiError(
        'Forbidden',
        `unable to create new content in namespace ${namespace} because it is being terminated`,
        {
          name: namespace,
          group: '',
          kind: 'namespaces',
          causes: [
            {
              reason: 'NamespaceTerminating',
              message: `namespace ${namespace} is being terminated`,
              field: 'metadata.namespace',
            },
          ],
        },
      );
    }
  }

  /** Objects are stored in their resource's storage version. */
  #toStorage(resource: Resource, obj: KubeObject): KubeObject {
    return { ...obj, apiVersion: groupVersion({ group: resource.group, version: resource.storageVersion }) };
  }

  /** Objects are served in the version asked for (no schema conversion between versions yet), defaulted as read. */
  #present(resource: Resource, obj: KubeObject): KubeObject {
    this.#presented(resource, obj);
    return obj;
  }

  /** `#present` in place; whether it changed `obj`. */
  #presented(resource: Resource, obj: KubeObject): boolean {
    const version = groupVersion(resource);
    const moved = obj.apiVersion !== version;
    obj.apiVersion = version;
    return defaultOnRead(resource, obj) || moved;
  }
}

function admissionAttributes(
  operation: AdmissionOperation,
  scope: ObjectScope,
  subresource: Subresource | undefined,
  object: KubeObject,
  oldObject: KubeObject | undefined,
  options: { readonly dryRun: boolean; readonly user?: UserInfo },
): AdmissionAttributes {
  return {
    operation,
    resource: scope.resource,
    subresource: subresource === 'main' ? undefined : subresource,
    namespace: scope.resource.namespaced ? (object.metadata.namespace ?? scope.namespace) : undefined,
    name: object.metadata.name ?? '',
    object,
    oldObject,
    user: options.user,
    dryRun: options.dryRun,
  };
}

/** Kubernetes defaults custom resources on every decode, reads from storage included (a default added later shows). */
export function defaultOnRead(resource: Resource, obj: KubeObject): boolean {
  return hasDefaults(resource.schema) && applyDefaults(obj, resource.schema);
}

const groupOf = (apiVersion: string): string =>
  apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
const versionOf = (apiVersion: string): string =>
  apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;

/** The stored JSON, with the revision of the write as the object's resourceVersion. */
function render(obj: KubeObject, revision: number): string {
  obj.metadata.resourceVersion = String(revision);
  return JSON.stringify(obj);
}

/**
 * A null metadata field decodes as absent in Kubernetes (ObjectMeta is a Go struct): kubectl's own
 * `--dry-run=client -o yaml` writes `creationTimestamp: null`.
 */
function dropMetadataNulls(meta: unknown): void {
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return;
  const m = meta as Record<string, unknown>;
  for (const k of Object.keys(m)) if (m[k] === null) delete m[k];
}

/** Go's omitempty on labels and annotations: an empty map is not stored (kubectl diff depends on it). */
function dropEmptyMaps(obj: KubeObject): void {
  const meta = obj.metadata;
  for (const k of ['labels', 'annotations', 'finalizers', 'ownerReferences', 'managedFields'] as const) {
    const v = meta[k];
    if (v !== undefined && (v === null || (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0)))
      delete meta[k];
  }
}

/** A spec change is any change outside metadata and status. */
function bumpsGeneration(next: KubeObject, prev: KubeObject): boolean {
  const keys = new Set([...Object.keys(next), ...Object.keys(prev)]);
  for (const k of keys) {
    if (k === 'metadata' || k === 'status' || k === 'apiVersion' || k === 'kind') continue;
    if (!jsonEqual(next[k], prev[k])) return true;
  }
  return false;
}

/** No-op writes keep the resourceVersion and emit no event; managedFields timestamps alone are no change. */
function unchanged(next: KubeObject, prev: KubeObject): boolean {
  const { metadata: nextMeta, ...nextRest } = next;
  const { metadata: prevMeta, ...prevRest } = prev;
  const { resourceVersion: _n, managedFields: nextFields, ...nextIdentity } = nextMeta;
  const { resourceVersion: _p, managedFields: prevFields, ...prevIdentity } = prevMeta;
  const untimed = (fields: typeof nextFields) => fields?.map(({ time: _t, ...entry }) => entry);
  return (
    jsonEqual(nextRest, prevRest) &&
    jsonEqual(nextIdentity, prevIdentity) &&
    jsonEqual(untimed(nextFields), untimed(prevFields))
  );
}

const suffixAlphabet = 'bcdfghjklmnpqrstvwxz2456789';
function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += suffixAlphabet[Math.floor(Math.random() * suffixAlphabet.length)];
  return s;
}

function encodeContinue(key: string): string {
  return Buffer.from(JSON.stringify({ v: 1, start: key })).toString('base64url');
}

function decodeContinue(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: number; start?: unknown };
    if (parsed.v === 1 && typeof parsed.start === 'string') return parsed.start;
  } catch {
    // fall through to the error below
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}
