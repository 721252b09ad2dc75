// RFC 7386 JSON merge patch (`application/merge-patch+json`): objects merge per key, `null` deletes a key,
// anything else (arrays included) replaces the target.

import { isJsonObject, jsonClone, type JsonObject, type JsonValue } from './json-value.js';

/**
 * Apply `patch` to `target` and return the result. Neither argument is mutated, and the result shares no
 * structure with `patch` (later edits of the result cannot reach back into the request body). Keys keep
 * the target's order; new keys follow in the patch's order, so output diffs cleanly.
 */
export function applyMergePatch(target: JsonValue | undefined, patch: JsonValue): JsonValue {
  if (!isJsonObject(patch)) return jsonClone(patch);
  const base: JsonObject = isJsonObject(target) ? target : {};
  const out: JsonObject = {};
  for (const k in base) {
    if (!Object.hasOwn(patch, k)) {
      out[k] = base[k] as JsonValue;
      continue;
    }
    const p = patch[k] as JsonValue;
    if (p !== null) out[k] = applyMergePatch(base[k], p);
  }
  for (const k in patch) {
    if (Object.hasOwn(base, k)) continue;
    const p = patch[k] as JsonValue;
    if (p !== null) out[k] = applyMergePatch(undefined, p);
  }
  return out;
}
