import t, { type Test } from 'tap';
import { applyJsonPatch, JsonPatchError, MAX_JSON_PATCH_OPERATIONS } from '../../src/patch/json-patch.js';
import type { JsonValue } from '../../src/patch/json-value.js';

const obj = (): JsonValue => ({
  metadata: { name: 'web', resourceVersion: '7', labels: { '01': 'x' } },
  spec: { image: 'nginx', ports: [{ port: 80 }, { port: 443 }], args: ['a', 'b'] },
});

function fails(t: Test, doc: JsonValue, patch: unknown, code: string, message: string, status = 422): void {
  const before = JSON.stringify(doc);
  try {
    applyJsonPatch(doc, patch);
    t.fail(`expected ${code}`);
  } catch (e) {
    t.ok(JsonPatchError.isInstance(e), 'typed error');
    if (!JsonPatchError.isInstance(e)) return;
    t.equal(e.code, code);
    t.equal(e.message, message);
    t.equal(e.httpStatus, status);
  }
  t.equal(JSON.stringify(doc), before, 'input untouched');
}

t.test('all six operations', async (t) => {
  const doc = obj();
  const before = JSON.stringify(doc);
  const out = applyJsonPatch(doc, [
    { op: 'test', path: '/metadata/resourceVersion', value: '7' },
    { op: 'replace', path: '/spec/image', value: 'nginx:1.27' },
    { op: 'add', path: '/spec/args/-', value: 'c' },
    { op: 'add', path: '/spec/args/0', value: 'z' },
    { op: 'remove', path: '/spec/ports/1' },
    { op: 'copy', from: '/spec/image', path: '/metadata/labels/image' },
    { op: 'move', from: '/metadata/labels/01', path: '/metadata/labels/zero-one' },
    { op: 'add', path: '/metadata/annotations', value: { 'a/b': 'c' } },
    { op: 'replace', path: '/metadata/annotations/a~1b', value: 'd' },
  ]);
  t.same(out, {
    metadata: {
      name: 'web',
      resourceVersion: '7',
      labels: { image: 'nginx:1.27', 'zero-one': 'x' },
      annotations: { 'a/b': 'd' },
    },
    spec: { image: 'nginx:1.27', ports: [{ port: 80 }], args: ['z', 'a', 'b', 'c'] },
  });
  t.equal(JSON.stringify(doc), before, 'input untouched');
});

t.test('replace of the root and the kubectl SSA-migration shape', async (t) => {
  t.same(applyJsonPatch({ a: 1 }, [{ op: 'replace', path: '', value: { b: 2 } }]), { b: 2 });
  const live = {
    metadata: {
      name: 'web',
      resourceVersion: '7',
      managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update' }],
    },
  };
  const out = applyJsonPatch(live, [
    { op: 'replace', path: '/metadata/managedFields', value: [{ manager: 'kubectl', operation: 'Apply' }] },
    { op: 'replace', path: '/metadata/resourceVersion', value: '7' },
  ]);
  t.same(out, {
    metadata: { name: 'web', resourceVersion: '7', managedFields: [{ manager: 'kubectl', operation: 'Apply' }] },
  });
});

t.test('failures are typed and worded like Kubernetes (evanphx/json-patch)', async (t) => {
  fails(
    t,
    obj(),
    [{ op: 'test', path: '/spec/image', value: 'redis' }],
    'BERTH_JSON_PATCH_TEST_FAILED',
    'testing value /spec/image failed: test failed',
  );
  fails(
    t,
    obj(),
    [{ op: 'replace', path: '/spec/nope', value: 1 }],
    'BERTH_JSON_PATCH_PATH_NOT_FOUND',
    'replace operation does not apply: doc is missing key: /spec/nope: missing value',
  );
  fails(
    t,
    obj(),
    [{ op: 'add', path: '/nope/deeper', value: 1 }],
    'BERTH_JSON_PATCH_PATH_NOT_FOUND',
    'add operation does not apply: doc is missing path: "/nope/deeper": missing value',
  );
  fails(
    t,
    obj(),
    [{ op: 'remove', path: '/spec/nope' }],
    'BERTH_JSON_PATCH_PATH_NOT_FOUND',
    "error in remove for path: '/spec/nope': Unable to remove nonexistent key: nope: missing value",
  );
  fails(
    t,
    obj(),
    [{ op: 'move', from: '/spec/nope', path: '/x' }],
    'BERTH_JSON_PATCH_PATH_NOT_FOUND',
    'move operation does not apply: doc is missing from path: /spec/nope: missing value',
  );
  fails(
    t,
    obj(),
    [{ op: 'remove', path: '/spec/ports/5' }],
    'BERTH_JSON_PATCH_INVALID_INDEX',
    'Unable to access invalid index: 5: invalid index referenced',
  );
  fails(
    t,
    obj(),
    [{ op: 'remove', path: '/spec/ports/01' }],
    'BERTH_JSON_PATCH_INVALID_INDEX',
    "value was not a proper array index: '01': invalid index referenced",
  );
  fails(
    t,
    obj(),
    [{ op: 'add', path: '/spec/args/00', value: 'x' }],
    'BERTH_JSON_PATCH_INVALID_INDEX',
    "value was not a proper array index: '00': invalid index referenced",
  );
  fails(
    t,
    obj(),
    [{ op: 'frobnicate', path: '/a' }],
    'BERTH_JSON_PATCH_INVALID_OPERATION',
    'Unexpected kind: frobnicate',
  );
  fails(
    t,
    obj(),
    [{ op: 'add', value: 1 }],
    'BERTH_JSON_PATCH_INVALID_OPERATION',
    'operation missing path field: missing value',
  );
  fails(
    t,
    obj(),
    [{ op: 'add', path: '/a' }],
    'BERTH_JSON_PATCH_INVALID_OPERATION',
    'operation, missing value field: missing value',
  );
  fails(
    t,
    obj(),
    [{ op: 'copy', path: '/a' }],
    'BERTH_JSON_PATCH_INVALID_OPERATION',
    'operation, missing from field: missing value',
  );
  fails(
    t,
    obj(),
    { op: 'add' },
    'BERTH_JSON_PATCH_MALFORMED',
    'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    400,
  );
  fails(
    t,
    obj(),
    ['x'],
    'BERTH_JSON_PATCH_MALFORMED',
    'json: cannot unmarshal array into Go value of type jsonpatch.Operation',
    400,
  );
  const many = Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => ({ op: 'test', path: '', value: {} }));
  fails(
    t,
    obj(),
    many,
    'BERTH_JSON_PATCH_TOO_LARGE',
    `The allowed maximum operations in a JSON patch is 10000, got 10001`,
    413,
  );
});

t.test('a key that merely looks like a padded index is fine on objects', async (t) => {
  t.same(applyJsonPatch({ m: { '007': 1 } }, [{ op: 'replace', path: '/m/007', value: 2 }]), { m: { '007': 2 } });
});

t.test('a failure after earlier successful operations changes nothing', async (t) => {
  fails(
    t,
    obj(),
    [
      { op: 'replace', path: '/spec/image', value: 'x' },
      { op: 'test', path: '/metadata/resourceVersion', value: '8' },
    ],
    'BERTH_JSON_PATCH_TEST_FAILED',
    'testing value /metadata/resourceVersion failed: test failed',
  );
});

t.test('toStatus gives the Status a real API server answers', async (t) => {
  try {
    applyJsonPatch(obj(), [{ op: 'test', path: '/spec/image', value: 'redis' }]);
  } catch (e) {
    if (!JsonPatchError.isInstance(e)) throw e;
    t.same(e.toStatus(), {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server rejected our request due to an error in our request',
      reason: 'Invalid',
      details: {
        causes: [{ reason: 'UnexpectedServerResponse', message: 'testing value /spec/image failed: test failed' }],
      },
      code: 422,
    });
  }
});
