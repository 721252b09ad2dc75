// The one function that turns any error into the Kubernetes `Status` a client is answered with: ApiErrors as they
// are, other subsystems' BerthErrors through the table below (by their stable code), anything else a bare 500.

import { BerthError, type ParseErrorCode } from '@berth/api';
import type { ApplyError } from '../field-ownership/apply.js';
import type { InvalidObjectError } from '../field-ownership/typed-value.js';
import type { JsonPatchErrorCode } from '../patch/json-patch.js';
import type { StrategicMergeErrorCode } from '../patch/strategic-merge.js';
import type { CompactedError } from '../storage/interface.js';
import { ApiError, internalError, type Status } from './api-error.js';

type Translate = (e: BerthError) => ApiError;

const as =
  (reason: ApiError['reason']): Translate =>
  (e) =>
    new ApiError(reason, e.message, undefined, { cause: e });

/**
 * A JSON patch that does not apply is 422 through apiserver's NewGenericServerResponse: a generic message, the
 * patch error as an UnexpectedServerResponse cause.
 */
const unexpectedServerResponse: Translate = (e) =>
  new ApiError(
    'Invalid',
    'the server rejected our request due to an error in our request',
    { causes: [{ reason: 'UnexpectedServerResponse', message: e.message }] },
    { cause: e },
  );

type ClientFacingCode =
  | JsonPatchErrorCode
  | StrategicMergeErrorCode
  | ApplyError['code']
  | InvalidObjectError['code']
  | 'BERTH_MANAGED_FIELDS_INVALID'
  | CompactedError['code']
  | ParseErrorCode;

/** Every non-ApiError code a client may be answered with, and how. A code not listed here is an internal error. */
const byCode: Record<ClientFacingCode, Translate> = {
  BERTH_JSON_PATCH_MALFORMED: as('BadRequest'),
  BERTH_JSON_PATCH_TOO_LARGE: as('RequestEntityTooLarge'),
  BERTH_JSON_PATCH_INVALID_OPERATION: unexpectedServerResponse,
  BERTH_JSON_PATCH_PATH_NOT_FOUND: unexpectedServerResponse,
  BERTH_JSON_PATCH_INVALID_INDEX: unexpectedServerResponse,
  BERTH_JSON_PATCH_TEST_FAILED: unexpectedServerResponse,
  BERTH_SMP_BAD_REQUEST: as('BadRequest'),
  BERTH_SMP_INVALID: as('Invalid'),
  BERTH_APPLY_MANAGED_FIELDS_SET: as('BadRequest'),
  BERTH_APPLY_WRONG_VERSION: as('BadRequest'),
  BERTH_MANAGED_FIELDS_INVALID: as('BadRequest'),
  BERTH_APPLY_INVALID_OBJECT: (e) =>
    new ApiError(
      'Invalid',
      e.message,
      { causes: [{ reason: 'FieldValueInvalid', message: e.message, field: (e as InvalidObjectError).path }] },
      { cause: e },
    ),
  BERTH_STORE_COMPACTED: as('Expired'),
  BERTH_LABEL_SELECTOR_INVALID: as('BadRequest'),
  BERTH_FIELD_SELECTOR_INVALID: as('BadRequest'),
  BERTH_QUANTITY_INVALID: as('BadRequest'),
};

/** `e` as the ApiError a client sees; `internal` tells the caller to log it (its details are not answered). */
export function toApiError(e: unknown): { readonly error: ApiError; readonly internal: boolean } {
  if (ApiError.isInstance(e)) return { error: e, internal: false };
  if (BerthError.isInstance(e)) {
    const translate = (byCode as Partial<Record<string, Translate>>)[e.code];
    if (translate !== undefined) return { error: translate(e), internal: false };
  }
  return { error: internalError(e), internal: true };
}

/** The Kubernetes Status for any error. */
export const toStatus = (e: unknown): Status => toApiError(e).error.toStatus();
