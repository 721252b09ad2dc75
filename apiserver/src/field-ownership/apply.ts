// Server-side apply and Update tracking: merges applied configs into live objects by the schema and keeps
// metadata.managedFields as Kubernetes' fieldmanager (structured-merge-diff underneath) does.

import { BerthError } from '@berth/api';
import { isJsonObject, jsonClone, jsonEqual, type JsonObject, type JsonValue } from '../patch/json-value.js';
import type { ApplyConflict } from './conflicts.js';
import {
  decodeFieldsV1,
  difference,
  emptySet,
  equalSets,
  fieldElement,
  has,
  insert,
  intersection,
  isEmpty,
  members,
  pathString,
  recursiveDifference,
  union,
  type FieldSet,
} from './field-set.js';
import {
  capUpdateManagers,
  decodeManagedFields,
  encodeManagedFields,
  isResetManagedFields,
  ManagedFieldsError,
  managerId,
  setFields,
  setTime,
  type ManagerRecord,
  type Managers,
} from './managed-fields.js';
import { compileSchema, type TypeNode } from './schema-type.js';
import { compare, covers, merge, removeItems, toFieldSet, withNamedFields, type Comparison } from './typed-value.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** Options shared by apply and recordUpdate. */
export interface WriteContext {
  /** The field manager (the `fieldManager` parameter, else the User-Agent's product token). */
  readonly manager: string;
  /** The request's group/version, e.g. `berth.dev/v1alpha1` (recorded in the entry). */
  readonly apiVersion: string;
  /** The kind's OpenAPI v3 schema (CRD JSONSchemaProps as JSON); absent means maps granular, lists atomic. */
  readonly schema?: JsonObject | undefined;
  /** RFC 3339 time recorded on entries that change. */
  readonly now: string;
  /** `status` for writes to the /status subresource. */
  readonly subresource?: 'status' | undefined;
  /**
   * The kind has a status subresource: main-resource writes then neither track nor change `.status`,
   * and /status writes track and change only `.status`.
   * @default false
   */
  readonly statusSubresource?: boolean | undefined;
  /**
   * The top-level fields this write may not change, neither tracked nor owned (the strategy's GetResetFields);
   * when given it replaces what `subresource` and `statusSubresource` imply.
   */
  readonly resetFields?: { readonly fields: readonly string[] } | { readonly allBut: readonly string[] } | undefined;
}

export interface ApplyOptions extends WriteContext {
  /** The stored object; undefined when the apply creates it. */
  readonly live: JsonObject | undefined;
  /** The applied configuration (request body). */
  readonly config: JsonObject;
  /** `force=true`: take ownership of conflicting fields. @default false */
  readonly force?: boolean | undefined;
}

export type ApplyResult =
  | {
      readonly ok: true;
      /**
       * The new object with its managedFields. When `changed` is false it is `live` itself (nothing to
       * write); otherwise a fresh copy the caller may mutate.
       */
      readonly object: JsonObject;
      readonly changed: boolean;
    }
  | { readonly ok: false; readonly conflicts: readonly ApplyConflict[] };

/** An apply request Kubernetes refuses with 400 BadRequest. */
export class ApplyError extends BerthError<'BERTH_APPLY_MANAGED_FIELDS_SET' | 'BERTH_APPLY_WRONG_VERSION'> {}

/** Fields never tracked: identity and server-owned metadata (apimachinery's stripMeta, plus deletionTimestamp). */
const STRIP: FieldSet = (() => {
  const s = emptySet();
  for (const p of [['apiVersion'], ['kind'], ['metadata']]) insert(s, p.map(fieldElement));
  for (const f of [
    'name',
    'namespace',
    'creationTimestamp',
    'selfLink',
    'uid',
    'clusterName',
    'generation',
    'managedFields',
    'resourceVersion',
    'deletionTimestamp',
  ]) {
    insert(s, [fieldElement('metadata'), fieldElement(f)]);
  }
  return s;
})();

type Filter = (s: FieldSet) => FieldSet;

type ResetFields = NonNullable<WriteContext['resetFields']>;

/** What a write may not change: the strategy's reset fields, else Kubernetes' for the main resource and /status. */
function resetOf(ctx: WriteContext): ResetFields | undefined {
  if (ctx.resetFields !== undefined) return ctx.resetFields;
  if (ctx.subresource === 'status') return { allBut: ['status'] };
  if (ctx.statusSubresource) return { fields: ['status'] };
  return undefined;
}

function topLevel(names: readonly string[]): FieldSet {
  const s = emptySet();
  for (const n of names) insert(s, [fieldElement(n)]);
  return s;
}

/** Which fields a write may own: none of its reset fields. */
function filterFor(ctx: WriteContext): Filter {
  const reset = resetOf(ctx);
  if (reset === undefined) return (s) => s;
  if ('allBut' in reset) {
    const kept = new Set(reset.allBut.map(fieldElement));
    return (s) => {
      const children = new Map([...(s.children ?? [])].filter(([e]) => kept.has(e)));
      return children.size === 0 ? emptySet() : { member: false, children };
    };
  }
  const dropped = topLevel(reset.fields);
  const names = reset.fields.map(fieldElement);
  return (s) => (names.some((e) => s.children?.has(e)) ? recursiveDifference(s, dropped) : s);
}

/** Give `next` the parts of `live` a write may not change (status on the main resource, the rest on /status). */
function resetFields(ctx: WriteContext, live: JsonObject, next: JsonObject): JsonObject {
  const reset = resetOf(ctx);
  if (reset === undefined) return next;
  if ('allBut' in reset) {
    const out: JsonObject = { ...live };
    for (const k of new Set([...Object.keys(live), ...Object.keys(next)])) {
      if (!reset.allBut.includes(k)) continue;
      if (next[k] === undefined) delete out[k];
      else out[k] = next[k];
    }
    return out;
  }
  if (reset.fields.every((k) => jsonEqual(live[k], next[k]))) return next;
  const out: JsonObject = { ...next };
  for (const k of reset.fields) {
    if (live[k] === undefined) delete out[k];
    else out[k] = live[k];
  }
  return out;
}

function metadataOf(o: JsonObject | undefined): JsonObject | undefined {
  const m = o?.['metadata'];
  return isJsonObject(m as JsonValue) ? (m as JsonObject) : undefined;
}

/** `o` without metadata.managedFields (shallow copies only where needed). */
function withoutManagedFields(o: JsonObject): JsonObject {
  const m = metadataOf(o);
  if (!m || !('managedFields' in m)) return o;
  const { managedFields: _drop, ...rest } = m;
  return { ...o, metadata: rest };
}

function withManagedFields(o: JsonObject, entries: JsonObject[] | undefined): JsonObject {
  const m = metadataOf(o) ?? {};
  const meta: JsonObject = { ...m };
  if (entries === undefined) delete meta['managedFields'];
  else meta['managedFields'] = entries;
  return { ...o, metadata: meta };
}

function copyManagers(m: Managers): Managers {
  const out: Managers = new Map();
  for (const [k, r] of m) out.set(k, { ...r });
  return out;
}

/** structured-merge-diff's Updater.update: take changed fields away from the other managers. */
function takeOwnership(
  type: TypeNode,
  filter: Filter,
  oldObj: JsonObject,
  newObj: JsonObject,
  managers: Managers,
  workflow: string,
  force: boolean,
): { comparison: Comparison } | { conflicts: ApplyConflict[] } {
  const c = compare(oldObj, newObj, type);
  const cmp: Comparison = { added: filter(c.added), removed: filter(c.removed), modified: filter(c.modified) };
  const changed = union(cmp.modified, cmp.added);
  const taken = new Map<string, FieldSet>();
  if (!isEmpty(changed)) {
    for (const [id, r] of managers) {
      if (id === workflow) continue;
      const cs = intersection(r.set, changed);
      if (!isEmpty(cs)) taken.set(id, cs);
    }
  }
  if (!force && taken.size > 0) {
    const conflicts: ApplyConflict[] = [];
    for (const [id, cs] of taken) {
      const r = managers.get(id) as ManagerRecord;
      for (const path of members(cs)) {
        conflicts.push({
          manager: r.manager,
          operation: r.operation,
          apiVersion: r.apiVersion,
          ...(r.subresource !== undefined ? { subresource: r.subresource } : {}),
          ...(r.time !== undefined ? { time: r.time } : {}),
          field: pathString(path),
          path,
        });
      }
    }
    conflicts.sort((a, b) => (a.manager < b.manager ? -1 : a.manager > b.manager ? 1 : 0));
    return { conflicts };
  }
  for (const [id, cs] of taken) {
    const r = managers.get(id) as ManagerRecord;
    setFields(r, difference(r.set, cs));
  }
  if (!isEmpty(cmp.removed)) {
    for (const [id, r] of managers) if (id !== workflow) setFields(r, difference(r.set, cmp.removed));
  }
  for (const [id, r] of managers) if (isEmpty(r.set)) managers.delete(id);
  return { comparison: cmp };
}

/**
 * Record an Update by `manager` from `before` to `after` into `managers` (apimachinery's
 * managedFieldsUpdater + stripMeta + capManagers around structured-merge-diff's Update).
 */
function trackUpdate(
  ctx: WriteContext,
  type: TypeNode,
  before: JsonObject,
  after: JsonObject,
  managers: Managers,
  manager: string,
): void {
  const current = '\u0000current-operation';
  const r = takeOwnership(type, filterFor(ctx), before, after, managers, current, true);
  if (!('comparison' in r)) return;
  const set = difference(union(r.comparison.modified, r.comparison.added), STRIP);
  if (!isEmpty(set)) {
    const id = managerId(manager, 'Update', ctx.apiVersion, ctx.subresource);
    const prev = managers.get(id);
    if (prev) {
      setFields(prev, union(set, prev.set));
      setTime(prev, ctx.now);
    } else {
      managers.set(id, {
        manager,
        operation: 'Update',
        apiVersion: ctx.apiVersion,
        subresource: ctx.subresource,
        time: ctx.now,
        set,
        original: undefined,
      });
    }
  }
  capUpdateManagers(managers);
}

// --- apply -------------------------------------------------------------------------------------------

/**
 * Server-side apply of `config` by `manager` onto `live`. Returns the merged object with updated
 * managedFields, or the conflicts (fields another manager owns with a different value) unless `force`.
 * Throws ApplyError (400) for configs Kubernetes refuses outright, InvalidObjectError for list items
 * the schema cannot key.
 */
export function apply(opts: ApplyOptions): ApplyResult {
  const { config } = opts;
  if (metadataOf(config)?.['managedFields'] !== undefined) {
    throw new ApplyError('BERTH_APPLY_MANAGED_FIELDS_SET', 'metadata.managedFields must be nil');
  }
  if (config['apiVersion'] !== opts.apiVersion) {
    throw new ApplyError(
      'BERTH_APPLY_WRONG_VERSION',
      `Incorrect version specified in apply patch. Specified patch version: ${String(config['apiVersion'] ?? '')}, expected: ${opts.apiVersion}`,
    );
  }
  const type = compileSchema(opts.schema);
  const filter = filterFor(opts);
  const liveObj = opts.live ? withoutManagedFields(opts.live) : {};

  if (opts.live !== undefined && isNoOp(opts, type, filter, liveObj))
    return { ok: true, object: opts.live, changed: false };
  const managers = decodeManagedFields(metadataOf(opts.live)?.['managedFields']);
  // An object nobody tracks yet: its current fields go to `before-first-apply` (skipNonApplied).
  if (managers.size === 0 && opts.live !== undefined)
    trackUpdate(opts, type, {}, liveObj, managers, 'before-first-apply');

  let r = applyOnce(opts, type, filter, liveObj, managers, opts.force === true);
  if ('conflicts' in r && opts.manager === 'kubectl') {
    // Switching from client-side to server-side apply: fields whose live value still equals the
    // last-applied annotation are not conflicts (apimachinery's lastAppliedManager).
    const allowed = allowedByLastApplied(opts, type, liveObj);
    const remaining = r.conflicts.filter((c) => !has(allowed, c.path));
    r = remaining.length === 0 ? applyOnce(opts, type, filter, liveObj, managers, true) : { conflicts: remaining };
  }
  if ('conflicts' in r) return { ok: false, conflicts: r.conflicts };

  let object = r.object;
  if (opts.manager === 'kubectl' && typeof metadataOf(object)?.['annotations'] === 'object') {
    const ann = (metadataOf(object) as JsonObject)['annotations'];
    if (
      isJsonObject(ann as JsonValue) &&
      typeof (ann as JsonObject)[LAST_APPLIED_ANNOTATION] === 'string' &&
      (ann as JsonObject)[LAST_APPLIED_ANNOTATION] !== ''
    ) {
      const value = buildLastApplied(config);
      if ((ann as JsonObject)[LAST_APPLIED_ANNOTATION] !== value) {
        const meta = metadataOf(object) as JsonObject;
        object = {
          ...object,
          metadata: { ...meta, annotations: { ...(ann as JsonObject), [LAST_APPLIED_ANNOTATION]: value } },
        };
      }
    }
  }
  const objectChanged = !jsonEqual(liveObj, object);
  const mine = r.managers.get(managerId(opts.manager, 'Apply', opts.apiVersion, opts.subresource));
  if (mine && (objectChanged || mine.original === undefined)) setTime(mine, opts.now);
  const entries = encodeManagedFields(r.managers);
  const liveEntries = metadataOf(opts.live)?.['managedFields'];
  const changed = opts.live === undefined || objectChanged || !jsonEqual(entries, liveEntries);
  if (!changed) return { ok: true, object: opts.live as JsonObject, changed: false };
  return { ok: true, object: jsonClone(withManagedFields(object, entries)), changed: true };
}

/**
 * The re-apply GitOps does every minute: the config changes no value and the manager's recorded set is
 * what it applies now. Then nothing can be pruned, no ownership moves, and only one entry is decoded.
 */
function isNoOp(opts: ApplyOptions, type: TypeNode, filter: Filter, liveObj: JsonObject): boolean {
  if (!covers(liveObj, opts.config, type)) return false;
  const entries = metadataOf(opts.live)?.['managedFields'];
  if (!Array.isArray(entries)) return false;
  const id = managerId(opts.manager, 'Apply', opts.apiVersion, opts.subresource);
  let stored: FieldSet | undefined;
  for (const e of entries) {
    if (!isJsonObject(e) || e['operation'] !== 'Apply' || e['manager'] !== opts.manager) continue;
    const sub = typeof e['subresource'] === 'string' && e['subresource'] !== '' ? e['subresource'] : undefined;
    if (managerId(opts.manager, 'Apply', opts.apiVersion, sub) !== id || e['fieldsType'] !== 'FieldsV1') continue;
    if (e['apiVersion'] !== opts.apiVersion) return false; // the entry moves to this version: a write
    try {
      stored = decodeFieldsV1(e['fieldsV1']);
    } catch {
      return false;
    }
  }
  if (!stored || !equalSets(stored, difference(filter(toFieldSet(opts.config, type)), STRIP))) return false;
  if (opts.manager === 'kubectl') {
    const ann = metadataOf(liveObj)?.['annotations'];
    const la = isJsonObject(ann as JsonValue) ? (ann as JsonObject)[LAST_APPLIED_ANNOTATION] : undefined;
    if (typeof la === 'string' && la !== '' && la !== buildLastApplied(opts.config)) return false;
  }
  return true;
}

function applyOnce(
  ctx: ApplyOptions,
  type: TypeNode,
  filter: Filter,
  liveObj: JsonObject,
  managersIn: Managers,
  force: boolean,
): { object: JsonObject; managers: Managers } | { conflicts: ApplyConflict[] } {
  const managers = copyManagers(managersIn);
  let merged = merge(liveObj, ctx.config, type) as JsonObject;
  const id = managerId(ctx.manager, 'Apply', ctx.apiVersion, ctx.subresource);
  const last = managers.get(id);
  const lastSet = last?.set;
  const set = filter(toFieldSet(ctx.config, type));
  // The stored entry is kept verbatim at the end if the (stripped) set comes out the same.
  // An Apply entry is one per manager whatever the version; applying at another version moves it there.
  const lastOriginal = last?.apiVersion === ctx.apiVersion ? last.original : undefined;
  if (last) {
    managers.set(id, { ...last, apiVersion: ctx.apiVersion, set, original: undefined });
  } else {
    managers.set(id, {
      manager: ctx.manager,
      operation: 'Apply',
      apiVersion: ctx.apiVersion,
      subresource: ctx.subresource,
      time: undefined,
      set,
      original: undefined,
    });
  }
  // Pruning only matters when the manager dropped something it applied before.
  if (lastSet && !isEmpty(difference(lastSet, set))) merged = prune(type, merged, managers, lastSet);
  merged = resetFields(ctx, liveObj, merged);
  const r = takeOwnership(type, filter, liveObj, merged, managers, id, force);
  if ('conflicts' in r) return r;
  const mine = managers.get(id);
  if (mine) {
    const stripped = difference(mine.set, STRIP);
    if (isEmpty(stripped)) managers.delete(id);
    else if (lastOriginal !== undefined && lastSet !== undefined && equalSets(stripped, lastSet)) {
      mine.set = lastSet;
      mine.original = lastOriginal;
    } else mine.set = stripped;
  }
  return { object: merged, managers };
}

/**
 * Remove what the manager applied last time and omits now, unless some manager still owns it
 * (structured-merge-diff's prune: remove, add back owned items, add back dangling items).
 */
function prune(type: TypeNode, merged: JsonObject, managers: Managers, lastSet: FieldSet): JsonObject {
  const last = withNamedFields(lastSet, type);
  const pruned = removeItems(merged, last, type) as JsonObject;
  let managed = emptySet();
  for (const r of managers.values()) managed = union(managed, r.set);
  const mergedSet = withNamedFields(toFieldSet(merged, type), type);
  const prunedSet = withNamedFields(toFieldSet(pruned, type), type);
  const ownedBack = removeItems(
    merged,
    difference(mergedSet, union(prunedSet, withNamedFields(managed, type))),
    type,
  ) as JsonObject;
  const ownedSet = withNamedFields(toFieldSet(ownedBack, type), type);
  return removeItems(merged, intersection(difference(mergedSet, ownedSet), last), type) as JsonObject;
}

/** Fields of the last-applied annotation whose live value is still what kubectl applied. */
function allowedByLastApplied(ctx: WriteContext, type: TypeNode, liveObj: JsonObject): FieldSet {
  const ann = metadataOf(liveObj)?.['annotations'];
  const raw = isJsonObject(ann as JsonValue) ? (ann as JsonObject)[LAST_APPLIED_ANNOTATION] : undefined;
  if (typeof raw !== 'string' || raw === '') return emptySet();
  let la: JsonValue;
  try {
    la = JSON.parse(raw) as JsonValue;
  } catch {
    return emptySet();
  }
  if (!isJsonObject(la) || la['apiVersion'] !== ctx.apiVersion) return emptySet();
  try {
    const set = toFieldSet(la, type);
    const c = compare(la, liveObj, type);
    return difference(difference(difference(set, c.modified), c.added), c.removed);
  } catch {
    return emptySet();
  }
}

/** The applied config as kubectl's annotation: compact JSON, sorted keys, HTML-escaped, newline-terminated (Go's encoder). */
export function buildLastApplied(config: JsonObject): string {
  const meta = metadataOf(config);
  let obj = config;
  const ann = meta?.['annotations'];
  if (meta && isJsonObject(ann as JsonValue) && LAST_APPLIED_ANNOTATION in (ann as JsonObject)) {
    const { [LAST_APPLIED_ANNOTATION]: _drop, ...rest } = ann as JsonObject;
    obj = { ...config, metadata: { ...meta, annotations: rest } };
  }
  return `${goJson(obj)}\n`;
}

function goJson(v: JsonValue): string {
  if (v === null || typeof v !== 'object') {
    return JSON.stringify(v).replace(
      /[<>&\u2028\u2029]/g,
      (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
  }
  if (Array.isArray(v)) return `[${v.map(goJson).join(',')}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${goJson(k)}:${goJson(v[k] as JsonValue)}`)
    .join(',')}}`;
}

// --- Update tracking ---------------------------------------------------------------------------------

export interface RecordUpdateOptions extends WriteContext {
  /** The stored object before the write; undefined for a create. */
  readonly before: JsonObject | undefined;
  /**
   * The object about to be stored, as the write produced it. Its metadata.managedFields, if the client
   * wrote some, replace the stored ones (`[]` or `[{}]` clears them); ignored on /status writes.
   */
  readonly after: JsonObject;
}

/**
 * The managedFields to store after a non-apply write (create, update, merge/JSON/strategic patch,
 * /status writes): the fields that changed go to `manager` with operation Update and are taken from
 * other managers. Returns undefined when the object should carry no managedFields.
 */
export function recordUpdate(opts: RecordUpdateOptions): JsonObject[] | undefined {
  const type = compileSchema(opts.schema);
  const beforeObj = opts.before ? withoutManagedFields(opts.before) : {};
  const afterObj = withoutManagedFields(opts.after);
  const liveEntries = metadataOf(opts.before)?.['managedFields'];
  const requested = metadataOf(opts.after)?.['managedFields'];
  let managers: Managers;
  if (opts.subresource !== undefined || requested === undefined || jsonEqual(requested, liveEntries)) {
    managers = decodeLiveOrEmpty(liveEntries);
  } else if (isResetManagedFields(requested)) {
    managers = new Map();
  } else {
    try {
      managers = decodeManagedFields(requested);
    } catch (e) {
      if (!ManagedFieldsError.isInstance(e)) throw e;
      managers = new Map();
    }
    if (managers.size === 0) managers = decodeLiveOrEmpty(liveEntries);
  }
  // An existing object nobody tracks stays untracked (apimachinery's skipNonApplied).
  if (managers.size === 0 && opts.before !== undefined) return undefined;
  trackUpdate(opts, type, beforeObj, afterObj, managers, opts.manager);
  return encodeManagedFields(managers);
}

function decodeLiveOrEmpty(entries: JsonValue | undefined): Managers {
  try {
    return decodeManagedFields(entries);
  } catch {
    return new Map();
  }
}
