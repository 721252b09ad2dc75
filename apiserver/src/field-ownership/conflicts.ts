// Apply conflicts as data, and the 409 Status a Kubernetes API server answers for them.

import type { PathElement } from './field-set.js';

/** A field the applier set to a different value than another manager owns it with. */
export interface ApplyConflict {
  /** The other manager's name, e.g. `kubectl-client-side-apply`. */
  readonly manager: string;
  readonly operation: 'Apply' | 'Update';
  /** The apiVersion the other manager wrote with. */
  readonly apiVersion: string;
  readonly subresource?: string;
  /** When the other manager last changed its fields (RFC 3339), if recorded. */
  readonly time?: string;
  /** The field as Kubernetes prints it: `.spec.image`, `.spec.ports[port=80,protocol="TCP"].name`. */
  readonly field: string;
  /** The same path in FieldsV1 elements. */
  readonly path: readonly PathElement[];
}

export interface ConflictStatus {
  readonly kind: 'Status';
  readonly apiVersion: 'v1';
  readonly metadata: Record<string, never>;
  readonly status: 'Failure';
  readonly message: string;
  readonly reason: 'Conflict';
  readonly details: {
    readonly causes: ReadonlyArray<{
      readonly reason: 'FieldManagerConflict';
      readonly message: string;
      readonly field: string;
    }>;
  };
  readonly code: 409;
}

/**
 * How apimachinery's printManager names a manager: `"name"`, ` with subresource "status"`, and for Update
 * managers ` using <apiVersion>`. (The manager identity carries no time, so a real server never prints one.)
 */
export function describeManager(
  c: Pick<ApplyConflict, 'manager' | 'operation' | 'apiVersion' | 'subresource'>,
): string {
  let s = JSON.stringify(c.manager);
  if (c.subresource) s += ` with subresource ${JSON.stringify(c.subresource)}`;
  if (c.operation === 'Update') s += ` using ${c.apiVersion}`;
  return s;
}

/** `Apply failed with 1 conflict: conflict with "x" using v1: .spec.image`, or the multi-conflict form. */
export function conflictMessage(conflicts: readonly ApplyConflict[]): string {
  const first = conflicts[0];
  if (conflicts.length === 1 && first)
    return `Apply failed with 1 conflict: conflict with ${describeManager(first)}: ${first.field}`;
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) {
    const m = describeManager(c);
    const list = byManager.get(m) ?? [];
    list.push(c.field);
    byManager.set(m, list);
  }
  // apimachinery sorts the managers' identity strings; sorting the printed names agrees for one apiVersion.
  const lines: string[] = [];
  for (const m of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${m}:`);
    for (const f of byManager.get(m) ?? []) lines.push(`- ${f}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}

/** The full 409 Status, one FieldManagerConflict cause per field. */
export function conflictStatus(conflicts: readonly ApplyConflict[]): ConflictStatus {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: conflictMessage(conflicts),
    reason: 'Conflict',
    details: {
      causes: conflicts.map((c) => ({
        reason: 'FieldManagerConflict' as const,
        message: `conflict with ${describeManager(c)}`,
        field: c.field,
      })),
    },
    code: 409,
  };
}
