// A Pod's metadata.managedFields, projected from its Container's and carried back onto it. The Container keeps the
// only record, in its own field paths (`.spec.image`); the Pod shows the same entries at `v1` in a Pod's paths
// (`.spec.containers[name="web"].image`), so server-side apply, its pruning and its conflicts work on either view.
// What has no Pod counterpart (`.spec.stopped`, the agent's status) stays on the Container, untouched by Pod writes.

import {
  equalSets,
  fieldElement,
  insert,
  isEmpty,
  keyElement,
  members,
  union,
  type FieldSet,
  type PathElement,
} from '../field-ownership/field-set.js';
import {
  decodeManagedFields,
  encodeManagedFields,
  type ManagerRecord,
  type Managers,
} from '../field-ownership/managed-fields.js';
import type { JsonObject, JsonValue } from '../patch/json-value.js';
import type { KubeObject } from '../objects/object.js';
import {
  containerFields,
  containerNameAnnotation,
  isClientCondition,
  podContainerName,
  podFields,
} from './pod-fields.js';

type Path = readonly PathElement[];

const f = fieldElement;
/** Container spec fields that are the Pod container's (resources too, without berth's pids). */
const inContainer = new Set<string>([...containerFields, 'resources'].map(f));
const inPodSpec = new Set<string>(podFields.map(f));

/** Whether a status path is a condition a client set (the only status a Pod write may own). */
function clientConditionPath(path: Path): boolean {
  if (path[0] !== f('status') || path[1] !== f('conditions') || path[2]?.startsWith('k:') !== true) return false;
  const key = JSON.parse(path[2].slice(2)) as JsonObject;
  return isClientCondition(key);
}

/** A Container path as the Pod's, or undefined when the Pod has no such field. */
function toPodPath(path: Path, item: PathElement): Path | undefined {
  const [top, field] = path;
  if (top === f('metadata'))
    return field === f('annotations') && path[2] === f(containerNameAnnotation) ? undefined : path;
  if (top === f('spec') && field !== undefined) {
    if (inContainer.has(field)) {
      if (field === f('resources') && path[3] === f('pids')) return undefined;
      return [f('spec'), f('containers'), item, ...path.slice(1)];
    }
    return inPodSpec.has(field) ? path : undefined;
  }
  return clientConditionPath(path) ? path : undefined;
}

/** A Pod path as the Container's, or undefined for what the Pod alone says (the container's name, defaults). */
function toContainerPath(path: Path): Path | undefined {
  const [top, field] = path;
  if (top === f('metadata')) return path;
  if (top === f('spec') && field === f('containers')) {
    const rest = path.slice(3);
    return rest[0] !== undefined && inContainer.has(rest[0]) ? [f('spec'), ...rest] : undefined;
  }
  if (top === f('spec') && field !== undefined) return inPodSpec.has(field) ? path : undefined;
  return clientConditionPath(path) ? path : undefined;
}

function mapSet(s: FieldSet, map: (p: Path) => Path | undefined): FieldSet {
  const out: FieldSet = { member: false, children: undefined };
  for (const p of members(s)) {
    const q = map(p);
    if (q !== undefined) insert(out, q);
  }
  return out;
}

/** What of a Container set has no Pod counterpart (kept as it is when a Pod write changes the rest). */
const containerOnly = (s: FieldSet, item: PathElement): FieldSet =>
  mapSet(s, (p) => (toPodPath(p, item) ? undefined : p));

function decoded(entries: unknown): Managers {
  try {
    return decodeManagedFields(entries as JsonValue | undefined);
  } catch {
    return new Map();
  }
}

/** The key of the Pod's one container in field paths: `k:{"name":"web"}`. */
export const podContainerItem = (container: KubeObject): PathElement =>
  keyElement([['name', podContainerName(container)]]);

/** Projections already made, by the Container's entries: every read and watch event of a Pod projects them. */
const projected = new Map<string, string>();
const projectedLimit = 4096;

/** The Pod's managedFields: each of the Container's entries in a Pod's paths, at v1; undefined when none. */
export function podManagedFields(container: KubeObject): JsonObject[] | undefined {
  const entries = container.metadata.managedFields;
  if (entries === undefined || entries.length === 0) return undefined;
  const item = podContainerItem(container);
  const key = `${item}\n${JSON.stringify(entries)}`;
  let hit = projected.get(key);
  if (hit === undefined) {
    hit = JSON.stringify(project(entries, item) ?? null);
    if (projected.size >= projectedLimit) projected.delete(projected.keys().next().value as string);
    projected.set(key, hit);
  }
  // A fresh copy each time: a write changes the Pod it is given.
  return (JSON.parse(hit) as JsonObject[] | null) ?? undefined;
}

function project(entries: unknown, item: PathElement): JsonObject[] | undefined {
  const out: Managers = new Map();
  for (const [id, r] of decoded(entries)) {
    const set = mapSet(r.set, (p) => toPodPath(p, item));
    if (isEmpty(set)) continue;
    // Owning a field of the container is owning the list item and its key, as apply of the Pod would record.
    if (set.children?.get(f('spec'))?.children?.get(f('containers'))?.children?.has(item)) {
      insert(set, [f('spec'), f('containers'), item]);
      insert(set, [f('spec'), f('containers'), item, f('name')]);
    }
    out.set(id, { ...r, apiVersion: 'v1', set, original: undefined });
  }
  return encodeManagedFields(out);
}

/**
 * The Container's managedFields once a Pod write leaves the Pod's as `written`: each manager owns what it owned
 * apart from the Pod (kept) and what `written` says it owns of the Pod (carried back). An entry whose set comes out
 * the same is kept verbatim (its time too), so a write that changes nothing stays no write.
 */
export function containerManagedFields(
  current: KubeObject | undefined,
  written: unknown,
  containerApiVersion: string,
  item: PathElement,
): JsonObject[] | undefined {
  const before = decoded(current?.metadata.managedFields);
  const after = new Map<string, ManagerRecord>();
  for (const [id, r] of decoded(written)) {
    const set = mapSet(r.set, toContainerPath);
    after.set(id, { ...r, apiVersion: containerApiVersion, set, original: undefined });
  }
  const out: Managers = new Map();
  const seen = new Set<string>();
  for (const [id, r] of before) {
    const viaPod = after.get(podId(r, id));
    seen.add(podId(r, id));
    const set = union(containerOnly(r.set, item), viaPod?.set);
    if (isEmpty(set)) continue;
    const time = viaPod?.time ?? r.time;
    out.set(id, equalSets(set, r.set) && time === r.time ? r : { ...r, set, time, original: undefined });
  }
  for (const [id, r] of after) if (!seen.has(id) && !isEmpty(r.set)) out.set(id, r);
  return encodeManagedFields(out);
}

/** A Container entry's identity as the Pod shows it (Update entries are named by apiVersion, now v1). */
function podId(r: ManagerRecord, id: string): string {
  if (r.operation === 'Apply') return id;
  return JSON.stringify([r.manager, r.operation, 'v1', r.subresource ?? '']);
}
