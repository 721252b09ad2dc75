// Field ownership before the apply engine is wired in: updates record nothing, strategic merge behaves as a
// merge patch (correct for maps, replaces lists), apply is refused as unsupported.

import { ApiError } from '../errors/api-error.js';
import { applyMergePatch } from '../patch/merge-patch.js';
import type { JsonValue } from '../patch/json-value.js';
import type { FieldOwnership } from './field-ownership.js';

export const plainFieldOwnership: FieldOwnership = {
  recordUpdate() {},
  async apply() {
    throw new ApiError('UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json');
  },
  strategicMerge(_resource, current, patch) {
    return applyMergePatch(current as unknown as JsonValue, patch as JsonValue);
  },
};
