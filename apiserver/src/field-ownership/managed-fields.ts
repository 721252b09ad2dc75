// metadata.managedFields in and out: decoding entries into per-manager field sets, encoding them back in
// Kubernetes' order, and capping the number of Update entries.

import { BerthError } from '@berth/api';
import { isJsonObject, type JsonObject, type JsonValue } from '../patch/json-value.js';
import { decodeFieldsV1, encodeFieldsV1, equalSets, union, type FieldSet } from './field-set.js';

export type Operation = 'Apply' | 'Update';

/** One manager's record: the ManagedFieldsEntry plus its decoded set. */
export interface ManagerRecord {
  readonly manager: string;
  readonly operation: Operation;
  readonly apiVersion: string;
  readonly subresource: string | undefined;
  time: string | undefined;
  set: FieldSet;
  /** The stored entry, reused verbatim while `set` and `time` are untouched (cheap no-ops). */
  original: JsonObject | undefined;
}

/** Managers keyed by identity: Apply entries are one per (manager, subresource), Update ones per apiVersion too. */
export type Managers = Map<string, ManagerRecord>;

export function managerId(
  manager: string,
  operation: Operation,
  apiVersion: string,
  subresource: string | undefined,
): string {
  return JSON.stringify([manager, operation, operation === 'Apply' ? '' : apiVersion, subresource ?? '']);
}

/** Client-written managedFields that cannot be decoded. */
export class ManagedFieldsError extends BerthError<'BERTH_MANAGED_FIELDS_INVALID'> {
  constructor(message: string) {
    super('BERTH_MANAGED_FIELDS_INVALID', message);
  }
}

/** Decode `metadata.managedFields`; throws ManagedFieldsError with Kubernetes' wording on bad entries. */
export function decodeManagedFields(entries: JsonValue | undefined): Managers {
  const out: Managers = new Map();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) throw new ManagedFieldsError('managedFields must be a list');
  entries.forEach((e, i) => {
    if (!isJsonObject(e)) throw new ManagedFieldsError(`managed fields entry ${i} must be an object`);
    const operation = e['operation'];
    if (operation !== 'Apply' && operation !== 'Update')
      throw new ManagedFieldsError('operation must be `Apply` or `Update`');
    const apiVersion = e['apiVersion'];
    if (typeof apiVersion !== 'string' || apiVersion === '')
      throw new ManagedFieldsError('apiVersion must not be empty');
    const fieldsType = e['fieldsType'];
    if (fieldsType === undefined || fieldsType === '')
      throw new ManagedFieldsError(`missing fieldsType in managed fields entry ${i}`);
    if (fieldsType !== 'FieldsV1')
      throw new ManagedFieldsError(`invalid fieldsType ${JSON.stringify(fieldsType)} in managed fields entry ${i}`);
    const manager = typeof e['manager'] === 'string' ? e['manager'] : '';
    const subresource = typeof e['subresource'] === 'string' && e['subresource'] !== '' ? e['subresource'] : undefined;
    let set: FieldSet;
    try {
      set = decodeFieldsV1(e['fieldsV1']);
    } catch (err) {
      throw new ManagedFieldsError(`error decoding set in managed fields entry ${i}: ${(err as Error).message}`);
    }
    out.set(managerId(manager, operation, apiVersion, subresource), {
      manager,
      operation,
      apiVersion,
      subresource,
      time: typeof e['time'] === 'string' ? e['time'] : undefined,
      set,
      original: e,
    });
  });
  return out;
}

/** `[]` or `[{}]` written by a client: clear all managed fields (a real server's reset sentinel). */
export function isResetManagedFields(entries: JsonValue | undefined): boolean {
  if (!Array.isArray(entries)) return false;
  if (entries.length === 0) return true;
  return (
    entries.length === 1 && isJsonObject(entries[0] as JsonValue) && Object.keys(entries[0] as JsonObject).length === 0
  );
}

/** Replace a record's set; marks the entry for re-encoding only when the set really changed. */
export function setFields(r: ManagerRecord, set: FieldSet): void {
  if (r.original !== undefined && equalSets(r.set, set)) return;
  r.set = set;
  r.original = undefined;
}

export function setTime(r: ManagerRecord, time: string): void {
  if (r.time === time) return;
  r.time = time;
  r.original = undefined;
}

/** Encode managers as `metadata.managedFields`, sorted as Kubernetes sorts them; undefined when none. */
export function encodeManagedFields(managers: Managers): JsonObject[] | undefined {
  if (managers.size === 0) return undefined;
  const rs = [...managers.values()];
  rs.sort((p, q) => {
    if (p.operation !== q.operation) return p.operation < q.operation ? -1 : 1;
    const ps = seconds(p.time);
    const qs = seconds(q.time);
    if (ps !== qs) return ps - qs;
    if (p.manager !== q.manager) return p.manager < q.manager ? -1 : 1;
    if (p.apiVersion !== q.apiVersion) return p.apiVersion < q.apiVersion ? -1 : 1;
    const a = p.subresource ?? '';
    const b = q.subresource ?? '';
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return rs.map((r) => {
    if (r.original) return r.original;
    const e: JsonObject = { manager: r.manager, operation: r.operation, apiVersion: r.apiVersion };
    if (r.time !== undefined) e['time'] = r.time;
    e['fieldsType'] = 'FieldsV1';
    e['fieldsV1'] = encodeFieldsV1(r.set);
    if (r.subresource !== undefined) e['subresource'] = r.subresource;
    return e;
  });
}

function seconds(t: string | undefined): number {
  if (t === undefined) return 0;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

export const MAX_UPDATE_MANAGERS = 10;
export const ANCIENT_CHANGES = 'ancient-changes';

/** Fold the oldest Update managers into `ancient-changes` (per apiVersion) until at most 10 remain. */
export function capUpdateManagers(managers: Managers, max = MAX_UPDATE_MANAGERS): void {
  const updaters = [...managers.entries()].filter(([, r]) => r.operation === 'Update');
  if (updaters.length <= max) return;
  updaters.sort(([ai, a], [bi, b]) => {
    const d = seconds(a.time) - seconds(b.time);
    if (d !== 0) return d;
    return ai < bi ? -1 : ai > bi ? 1 : 0;
  });
  const firstByVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > max; i++) {
    const [id, r] = updaters[i] as [string, ManagerRecord];
    const bucket = managerId(ANCIENT_CHANGES, 'Update', r.apiVersion, undefined);
    const first = firstByVersion.get(r.apiVersion);
    if (first === undefined) {
      firstByVersion.set(r.apiVersion, id);
      continue;
    }
    if (!managers.has(bucket)) {
      const f = managers.get(first) as ManagerRecord;
      managers.delete(first);
      managers.set(bucket, { ...f, manager: ANCIENT_CHANGES, subresource: undefined, original: undefined });
    }
    const b = managers.get(bucket) as ManagerRecord;
    b.set = union(r.set, b.set);
    b.time = r.time;
    b.original = undefined;
    managers.delete(id);
    length--;
  }
}
