// The three PATCH body formats berth's API server accepts, as pure functions over JSON objects:
//
//   applyMergePatch(target, patch)                   application/merge-patch+json (RFC 7386)
//   applyJsonPatch(document, patch)                  application/json-patch+json (RFC 6902); throws JsonPatchError
//   applyStrategicMergePatch(original, patch, schema) application/strategic-merge-patch+json (built-in kinds);
//                                                    throws StrategicMergeError
//
// None mutates its inputs; a failure changes nothing.

export { applyMergePatch } from './merge-patch.js';
export { applyJsonPatch, parseJsonPatch, JsonPatchError, MAX_JSON_PATCH_OPERATIONS } from './json-patch.js';
export type { JsonPatchErrorCode, JsonPatchOperation, JsonPatchStatus } from './json-patch.js';
export { applyStrategicMergePatch, StrategicMergeError } from './strategic-merge.js';
export type { StrategicMergeErrorCode } from './strategic-merge.js';
export { isJsonObject, jsonClone, jsonEqual, type JsonObject, type JsonValue } from './json-value.js';
