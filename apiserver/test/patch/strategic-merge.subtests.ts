import t from 'tap';
import { applyStrategicMergePatch, StrategicMergeError } from '../../src/patch/strategic-merge.js';
import type { JsonObject, JsonValue } from '../../src/patch/json-value.js';

// A slice of core/v1 PodSpec and ConfigMap in the shape built-in schemas are given: JSONSchemaProps
// plus Kubernetes' strategic-merge extensions.
const schema: JsonObject = {
  type: 'object',
  properties: {
    data: { type: 'object', additionalProperties: { type: 'string' } },
    spec: {
      type: 'object',
      properties: {
        containers: {
          type: 'array',
          'x-kubernetes-patch-strategy': 'merge',
          'x-kubernetes-patch-merge-key': 'name',
          items: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              image: { type: 'string' },
              args: { type: 'array', items: { type: 'string' } },
              ports: {
                type: 'array',
                'x-kubernetes-patch-strategy': 'merge',
                'x-kubernetes-patch-merge-key': 'containerPort',
                items: { type: 'object', properties: { containerPort: { type: 'integer' }, name: { type: 'string' } } },
              },
            },
          },
        },
        volumes: {
          type: 'array',
          'x-kubernetes-patch-strategy': 'merge,retainKeys',
          'x-kubernetes-patch-merge-key': 'name',
          items: {
            type: 'object',
            properties: { name: { type: 'string' }, hostPath: { type: 'object' }, emptyDir: { type: 'object' } },
          },
        },
        nodeSelector: {
          type: 'object',
          additionalProperties: { type: 'string' },
          'x-kubernetes-patch-strategy': 'replace',
        },
        tolerations: { type: 'array', items: { type: 'object' } },
      },
    },
  },
};

const pod = (): JsonObject => ({
  metadata: { name: 'p', labels: { app: 'a' }, finalizers: ['x', 'y'] },
  spec: {
    containers: [
      { name: 'app', image: 'app:1', args: ['a'], ports: [{ containerPort: 80 }] },
      { name: 'log', image: 'log:1' },
    ],
    volumes: [{ name: 'data', hostPath: { path: '/d' } }],
    nodeSelector: { zone: 'a', disk: 'ssd' },
  },
});

function smp(patch: JsonValue, original: JsonObject = pod()): JsonObject {
  const before = JSON.stringify(original);
  const out = applyStrategicMergePatch(original, patch, schema);
  if (JSON.stringify(original) !== before) throw new Error('input mutated');
  return out;
}

function spec(o: JsonObject): JsonObject {
  return o['spec'] as JsonObject;
}

t.test('lists with patch strategy merge merge by their key; items merge recursively', async (t) => {
  const out = smp({
    spec: {
      containers: [
        { name: 'app', image: 'app:2', ports: [{ containerPort: 443 }] },
        { name: 'new', image: 'n:1' },
      ],
    },
  });
  // apimachinery's mergeSortedSlice puts a patch item the live list lacks before the server-only items
  // that follow it: [app, new, log], and [443, 80].
  t.same(spec(out)['containers'], [
    { name: 'app', image: 'app:2', args: ['a'], ports: [{ containerPort: 443 }, { containerPort: 80 }] },
    { name: 'new', image: 'n:1' },
    { name: 'log', image: 'log:1' },
  ]);
  // With $setElementOrder (what kubectl sends) the order is the one the client asked for.
  const ordered = smp({
    spec: {
      '$setElementOrder/containers': [{ name: 'app' }, { name: 'log' }, { name: 'new' }],
      containers: [{ name: 'new', image: 'n:1' }],
    },
  });
  t.same(
    (spec(ordered)['containers'] as JsonObject[]).map((c) => c['name']),
    ['app', 'log', 'new'],
  );
});

t.test('other lists are replaced; null deletes; maps merge', async (t) => {
  const out = smp({
    metadata: { labels: { app: null, tier: 'web' } },
    spec: { containers: [{ name: 'app', args: ['b', 'c'] }], tolerations: [{ key: 'k' }] },
  });
  t.same((out['metadata'] as JsonObject)['labels'], { tier: 'web' });
  t.same((spec(out)['containers'] as JsonObject[])[0]?.['args'], ['b', 'c']);
  t.same(spec(out)['tolerations'], [{ key: 'k' }]);
});

t.test('a map field with patch strategy replace is replaced whole', async (t) => {
  t.same(spec(smp({ spec: { nodeSelector: { zone: 'b' } } }))['nodeSelector'], { zone: 'b' });
});

t.test('$patch: delete removes a list item by merge key; $patch: replace replaces list or map', async (t) => {
  t.same(spec(smp({ spec: { containers: [{ name: 'log', $patch: 'delete' }] } }))['containers'], [
    { name: 'app', image: 'app:1', args: ['a'], ports: [{ containerPort: 80 }] },
  ]);
  t.same(spec(smp({ spec: { containers: [{ name: 'only', image: 'o:1' }, { $patch: 'replace' }] } }))['containers'], [
    { name: 'only', image: 'o:1' },
  ]);
  t.same(smp({ metadata: { $patch: 'replace', name: 'q' } })['metadata'], { name: 'q' });
  t.same(smp({ spec: { $patch: 'delete' } })['spec'], {});
});

t.test('primitive lists with strategy merge: union, and $deleteFromPrimitiveList', async (t) => {
  const s: JsonObject = { ...schema, properties: { ...(schema['properties'] as JsonObject) } };
  const o = { metadata: { name: 'p', finalizers: ['x', 'y'] } };
  t.same(
    (applyStrategicMergePatch(o, { metadata: { finalizers: ['z'] } }, s)['metadata'] as JsonObject)['finalizers'],
    ['z', 'x', 'y'],
  );
  t.same(
    (
      applyStrategicMergePatch(o, { metadata: { '$deleteFromPrimitiveList/finalizers': ['x'] } }, s)[
        'metadata'
      ] as JsonObject
    )['finalizers'],
    ['y'],
  );
});

t.test('$setElementOrder orders the merged list', async (t) => {
  const out = smp({
    spec: {
      '$setElementOrder/containers': [{ name: 'log' }, { name: 'app' }],
      containers: [{ name: 'app', image: 'app:2' }],
    },
  });
  t.same(
    (spec(out)['containers'] as JsonObject[]).map((c) => [c['name'], c['image']]),
    [
      ['log', 'log:1'],
      ['app', 'app:2'],
    ],
  );
});

t.test('$retainKeys drops the keys not listed (switching a volume source)', async (t) => {
  const out = smp({ spec: { volumes: [{ name: 'data', $retainKeys: ['name', 'emptyDir'], emptyDir: {} }] } });
  t.same(spec(out)['volumes'], [{ name: 'data', emptyDir: {} }]);
});

t.test('a ConfigMap: data merges per key', async (t) => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1', b: '2' } };
  t.same(applyStrategicMergePatch(cm, { data: { b: null, c: '3' } }, schema)['data'], { a: '1', c: '3' });
});

t.test("bad patches are typed errors with apimachinery's wording", async (t) => {
  const cases: Array<[JsonValue, string, number]> = [
    [{ spec: { containers: [{ image: 'x' }] } }, 'map: map[image:x] does not contain declared merge key: name', 422],
    [
      { spec: { containers: [{ name: 'app', $patch: 'frob' }] } },
      'unknown patch type: frob in map: map[$patch:frob name:app]',
      422,
    ],
    [{ spec: { volumes: [{ name: 'data', $retainKeys: 'name' }] } }, 'invalid patch format of retainKeys', 400],
    [
      { spec: { volumes: [{ name: 'data', $retainKeys: ['name'], emptyDir: {} }] } },
      'invalid patch format of retainKeys',
      400,
    ],
    [
      { spec: { containers: [{ name: 'app', $patch: 'merge' }] } },
      'merging lists cannot yet be specified in the patch',
      422,
    ],
    [['not', 'a', 'map'], 'invalid JSON document', 400],
  ];
  for (const [patch, message, status] of cases) {
    try {
      smp(patch);
      t.fail(`expected an error for ${JSON.stringify(patch)}`);
    } catch (e) {
      t.ok(StrategicMergeError.isInstance(e), message);
      if (!StrategicMergeError.isInstance(e)) continue;
      t.equal(e.message, message);
      t.equal(e.httpStatus, status);
    }
  }
});
