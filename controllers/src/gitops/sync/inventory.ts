// The inventory of a Sync: one entry per object it applied, `namespace_name_group_kind` and the version it was
// applied at (Flux's ResourceInventory). Pruning deletes the entries of the old inventory the new one lacks.
import type { InventoryEntry } from '@berth/api';
import { splitApiVersion } from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';

export interface ObjectRef {
  readonly namespace: string;
  readonly name: string;
  readonly group: string;
  readonly kind: string;
  readonly version: string;
}

export function refOf(obj: KubernetesObject): ObjectRef {
  const { group, version } = splitApiVersion(obj.apiVersion ?? '');
  return {
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
    group,
    kind: obj.kind ?? '',
    version,
  };
}

export function entryOf(ref: ObjectRef): InventoryEntry {
  return { id: `${ref.namespace}_${ref.name}_${ref.group}_${ref.kind}`, v: ref.version };
}

export function refOfEntry(entry: InventoryEntry): ObjectRef | undefined {
  const parts = entry.id.split('_');
  if (parts.length !== 4) return undefined;
  const [namespace, name, group, kind] = parts as [string, string, string, string];
  return { namespace, name, group, kind, version: entry.v };
}

/** Entries of `old` that `next` does not hold, in reverse order (dependents before what they depend on). */
export function staleEntries(old: readonly InventoryEntry[], next: readonly InventoryEntry[]): InventoryEntry[] {
  const keep = new Set(next.map((e) => e.id));
  return old.filter((e) => !keep.has(e.id)).reverse();
}

/** `namespace/name` of kind in group, for messages. */
export function describeRef(ref: ObjectRef): string {
  const kind = ref.group === '' ? ref.kind : `${ref.kind}.${ref.group}`;
  return ref.namespace === '' ? `${kind}/${ref.name}` : `${kind}/${ref.namespace}/${ref.name}`;
}
