// Every error the API server answers with goes through one table to one Kubernetes Status; all of them are
// BerthErrors recognised by their class chain, with stable string codes.

import t from 'tap';
import { BerthError, InvalidArgumentError, ParseError, parseLabelSelector } from '@berth/api';
import { ApiError, badRequest, notFound, statusReasons } from '../../src/errors/api-error.js';
import { toApiError, toStatus } from '../../src/errors/status.js';
import { ApplyError } from '../../src/field-ownership/apply.js';
import { ManagedFieldsError } from '../../src/field-ownership/managed-fields.js';
import { InvalidObjectError } from '../../src/field-ownership/typed-value.js';
import { JsonPatchError } from '../../src/patch/json-patch.js';
import { StrategicMergeError } from '../../src/patch/strategic-merge.js';
import { CompactedError, StoreClosedError, StoreFailedError, WatchTooSlowError } from '../../src/storage/interface.js';

t.test('every Status reason has its Kubernetes HTTP code and a distinct BERTH_ code', async (t) => {
  t.same(Object.fromEntries(Object.entries(statusReasons).map(([r, v]) => [r, v.httpStatus])), {
    BadRequest: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    MethodNotAllowed: 405,
    NotAcceptable: 406,
    AlreadyExists: 409,
    Conflict: 409,
    Gone: 410,
    Expired: 410,
    RequestEntityTooLarge: 413,
    UnsupportedMediaType: 415,
    Invalid: 422,
    TooManyRequests: 429,
    InternalError: 500,
    ServiceUnavailable: 503,
    Timeout: 504,
  });
  const codes = Object.values(statusReasons).map((v) => v.code);
  t.equal(new Set(codes).size, codes.length, 'codes are distinct');
  for (const c of codes) t.match(c, /^BERTH_API_[A-Z_]+$/);
});

t.test('an ApiError is a BerthError with a string code and its HTTP status from the table', async (t) => {
  const e = notFound({ group: 'berth.dev', plural: 'containers' }, 'web');
  t.ok(BerthError.isInstance(e));
  t.ok(e instanceof BerthError);
  t.ok(ApiError.isInstance(e));
  t.equal(e.code, 'BERTH_API_NOT_FOUND');
  t.equal(e.httpStatus, 404);
  t.equal(e.name, 'ApiError');
  t.same(toStatus(e), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    reason: 'NotFound',
    code: 404,
    message: 'containers.berth.dev "web" not found',
    details: { name: 'web', group: 'berth.dev', kind: 'containers' },
  });
  t.notOk(ApiError.isInstance(new Error('plain')), 'a plain Error is not an ApiError');
  t.notOk(ApiError.isInstance(new StoreClosedError()), 'nor is another BerthError');
});

t.test('every apiserver error class extends BerthError and is told apart by its class chain', async (t) => {
  const errors: [BerthError, string][] = [
    [new ApiError('Conflict', 'x'), 'BERTH_API_CONFLICT'],
    [new InvalidArgumentError('x'), 'BERTH_INVALID_ARGUMENT'],
    [new ApplyError('BERTH_APPLY_WRONG_VERSION', 'x'), 'BERTH_APPLY_WRONG_VERSION'],
    [new ManagedFieldsError('x'), 'BERTH_MANAGED_FIELDS_INVALID'],
    [new InvalidObjectError('.spec', 'x'), 'BERTH_APPLY_INVALID_OBJECT'],
    [new JsonPatchError('BERTH_JSON_PATCH_TEST_FAILED', 'x'), 'BERTH_JSON_PATCH_TEST_FAILED'],
    [new StrategicMergeError('BERTH_SMP_INVALID', 'x'), 'BERTH_SMP_INVALID'],
    [new CompactedError(1, 2), 'BERTH_STORE_COMPACTED'],
    [new StoreClosedError(), 'BERTH_STORE_CLOSED'],
    [new StoreFailedError(new Error('disk')), 'BERTH_STORE_FAILED'],
    [new WatchTooSlowError(1, 2), 'BERTH_WATCH_TOO_SLOW'],
  ];
  for (const [e, code] of errors) {
    t.ok(BerthError.isInstance(e), `${e.name} is a BerthError`);
    t.equal(e.code, code, `${e.name} has code ${code}`);
    t.equal(e.name, e.constructor.name);
    for (const [other] of errors) {
      if (other.constructor !== e.constructor)
        t.notOk(other instanceof (e.constructor as typeof BerthError), `${other.name} is not a ${e.name}`);
    }
  }
  t.equal(new StoreFailedError(new Error('disk')).cause instanceof Error, true, 'the wrapped error is the cause');
});

t.test("other subsystems' errors become the Status a Kubernetes server answers", async (t) => {
  const cases: [unknown, string, number, string][] = [
    [
      new ApplyError('BERTH_APPLY_MANAGED_FIELDS_SET', 'metadata.managedFields must be nil'),
      'BadRequest',
      400,
      'metadata.managedFields must be nil',
    ],
    [new ManagedFieldsError('managedFields must be a list'), 'BadRequest', 400, 'managedFields must be a list'],
    [new InvalidObjectError('.spec.ports', 'no key'), 'Invalid', 422, '.spec.ports: no key'],
    [new StrategicMergeError('BERTH_SMP_BAD_REQUEST', 'bad'), 'BadRequest', 400, 'bad'],
    [new StrategicMergeError('BERTH_SMP_INVALID', 'inv'), 'Invalid', 422, 'inv'],
    [new JsonPatchError('BERTH_JSON_PATCH_MALFORMED', 'm'), 'BadRequest', 400, 'm'],
    [new JsonPatchError('BERTH_JSON_PATCH_TOO_LARGE', 'big'), 'RequestEntityTooLarge', 413, 'big'],
    [
      new JsonPatchError('BERTH_JSON_PATCH_PATH_NOT_FOUND', 'p'),
      'Invalid',
      422,
      'the server rejected our request due to an error in our request',
    ],
    [new CompactedError(3, 9), 'Expired', 410, 'too old resource version: 3 (9)'],
    [badRequest('plain'), 'BadRequest', 400, 'plain'],
  ];
  for (const [e, reason, code, message] of cases) {
    const status = toStatus(e);
    t.match(status, { kind: 'Status', status: 'Failure', reason, code, message }, `${(e as Error).name}: ${reason}`);
    t.notOk(toApiError(e).internal);
  }
  t.same(toStatus(new InvalidObjectError('.spec.ports', 'no key')).details, {
    causes: [{ reason: 'FieldValueInvalid', message: '.spec.ports: no key', field: '.spec.ports' }],
  });
  let parse: unknown;
  try {
    parseLabelSelector('a in (');
  } catch (e) {
    parse = e;
  }
  t.ok(ParseError.isInstance(parse));
  t.match(toStatus(parse), { reason: 'BadRequest', code: 400 });
});

t.test('anything else is a 500 that names no internals, flagged for the log', async (t) => {
  for (const e of [
    new Error('secret path /var/lib/x'),
    new StoreClosedError(),
    new InvalidArgumentError('bad option'),
    'a string',
    undefined,
  ]) {
    const { error, internal } = toApiError(e);
    t.ok(internal);
    t.same(error.toStatus(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      reason: 'InternalError',
      code: 500,
      message: 'Internal error occurred: an error on the server prevented the request from succeeding',
    });
    t.equal(error.cause, e, 'the original error is kept as the cause');
  }
});
