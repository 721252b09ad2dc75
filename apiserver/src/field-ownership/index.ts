// Server-side apply and field ownership (metadata.managedFields) for berth's API server: pure functions
// over plain JSON objects, no I/O.
//
//   apply({ live, config, manager, apiVersion, force, schema, now, subresource, statusSubresource })
//     → { ok: true, object, changed } | { ok: false, conflicts }
//   recordUpdate({ before, after, manager, apiVersion, schema, now, subresource, statusSubresource })
//     → managedFields to store (undefined: none)
//   conflictStatus(conflicts) → the 409 Status; conflictMessage(conflicts) → its message
//   encodeFieldsV1 / decodeFieldsV1 ↔ FieldSet

export { apply, recordUpdate, buildLastApplied, ApplyError, LAST_APPLIED_ANNOTATION } from './apply.js';
export type { ApplyOptions, ApplyResult, RecordUpdateOptions, WriteContext } from './apply.js';
export { conflictMessage, conflictStatus, describeManager } from './conflicts.js';
export type { ApplyConflict, ConflictStatus } from './conflicts.js';
export { decodeFieldsV1, encodeFieldsV1, pathString, type FieldSet, type PathElement } from './field-set.js';
export { ManagedFieldsError, MAX_UPDATE_MANAGERS, ANCIENT_CHANGES } from './managed-fields.js';
export { InvalidObjectError, toFieldSet } from './typed-value.js';
export { compileSchema } from './schema-type.js';
