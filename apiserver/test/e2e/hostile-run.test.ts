// A bounded, seeded run of generated hostile requests (bodies, names, paths, queries, patches of every type)
// against a real API server preloaded with objects: no 5xx, no hang, every 4xx a Status whose code matches, and
// every object created before the run unchanged after it (same resourceVersion, same content).

import t from 'tap';
import fc from 'fast-check';
import { Agent } from 'node:https';
import { request, startTestServer, type TestServer } from '@berth/testkit';
import { rawRequest, statusOf } from './raw-client.js';

const seed = Number(process.env['BERTH_HOSTILE_SEED'] ?? 20261201);
const runs = Number(process.env['BERTH_HOSTILE_RUNS'] ?? 3000);

// ---- what is preloaded, and must survive ----------------------------------------------------------------------

const keepNs = 'keep';
const preload = (ns: string) => [
  {
    path: `/api/v1/namespaces/${ns}/configmaps`,
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keep-1', labels: { app: 'x' } }, data: { a: 'b' } },
  },
  {
    path: `/api/v1/namespaces/${ns}/configmaps`,
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keep-2' }, data: { c: 'd' } },
  },
  {
    path: `/api/v1/namespaces/${ns}/secrets`,
    body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'keep-3' }, stringData: { p: 'q' } },
  },
  {
    path: `/apis/berth.dev/v1alpha1/namespaces/${ns}/containers`,
    body: {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Container',
      metadata: { name: 'keep-4', finalizers: ['berth.dev/hold'] },
      spec: { image: 'busybox' },
    },
  },
  {
    path: `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
    body: {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'keep-5' },
      spec: { holderIdentity: 'me' },
    },
  },
];
const preserved = [
  '/api/v1/namespaces/keep',
  '/api/v1/namespaces/keep/configmaps',
  '/api/v1/namespaces/keep/secrets',
  '/apis/berth.dev/v1alpha1/namespaces/keep/containers',
  '/apis/coordination.k8s.io/v1/namespaces/keep/leases',
  '/api/v1/namespaces/default',
  '/api/v1/namespaces/kube-system',
];

async function snapshot(ts: TestServer): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const p of preserved) {
    const r = await request(ts, 'GET', p);
    const v = r.json<{ items?: { metadata: { name: string } }[]; metadata: { resourceVersion?: string } }>();
    if (v.items !== undefined) for (const item of v.items) out[`${p}/${item.metadata.name}`] = item;
    else out[p] = v;
  }
  return out;
}

// ---- generators -----------------------------------------------------------------------------------------------

/** A dot segment or an encoded slash: with one of these, no path may address a preloaded object. */
const hostileSegment = fc.constantFrom('.', '..', '%2e', '%2E', '%2e%2e', '%2E%2e', '.%2e', 'x%2F..', '%2F');
const enc = (s: string) => encodeURIComponent(s);
/** `arb` in `percent` of the cases, else undefined. */
const sometimes = <T>(arb: fc.Arbitrary<T>, percent: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: percent, arbitrary: arb }, { weight: 100 - percent, arbitrary: fc.constant(undefined) });

const name = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.constantFrom(
      'web',
      'x',
      'y',
      'keep-1',
      'keep-4',
      'a.b',
      'UPPER',
      '-a',
      'a-',
      'a..b',
      '%20',
      '~',
      '%00',
      '%C3%A9',
      '%E2%80%AE',
      'a%25b',
      '%zz',
      'a%',
      '%',
      'a;b',
      'a%3Fb',
      'a%23b',
      '\u00e9',
    ),
  },
  { weight: 2, arbitrary: hostileSegment },
  { weight: 1, arbitrary: fc.constantFrom('x'.repeat(254), 'a'.repeat(64), 'b'.repeat(253), 'c'.repeat(10_000)) },
  {
    weight: 2,
    arbitrary: fc
      .string({ maxLength: 40, unit: 'binary' })
      .filter((s) => s !== '')
      .map(enc),
  },
);
const namespace = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom('fuzz', 'keep', 'default', 'kube-system', 'nowhere', 'berth-system') },
  { weight: 2, arbitrary: name },
);
const groupVersion = fc.constantFrom(
  '/api/v1',
  '/api/v1',
  '/apis/berth.dev/v1alpha1',
  '/apis/berth.dev/v1alpha1',
  '/apis/coordination.k8s.io/v1',
  '/apis/apiextensions.k8s.io/v1',
  '/apis/nope.example.com/v1',
  '/apis/berth.dev/v9',
  '/api/v2',
  '/apis/berth.dev',
  '/api',
  '/apis',
  '',
);
const resource = fc.constantFrom(
  'configmaps',
  'secrets',
  'containers',
  'events',
  'namespaces',
  'leases',
  'nodes',
  'gadgets',
  'Configmaps',
  'configmap',
);
const subresource = fc.constantFrom('status', 'scale', 'log', 'finalize', 'exec', 'x', 'status%2F..');
const special = fc.constantFrom(
  '/version',
  '/healthz',
  '/readyz',
  '/livez',
  '/openapi/v2',
  '/openapi/v3',
  '/openapi/v3/api/v1',
  '/openapi/v3/apis/berth.dev/v1alpha1',
  '/openapi/v3/..',
  '/metrics',
  '/',
  '/apis/berth.dev/',
  '*',
);

/** Resources with the group-version that serves them, so most paths reach a handler. */
const served = fc.constantFrom(
  ['/api/v1', 'configmaps'],
  ['/api/v1', 'secrets'],
  ['/api/v1', 'namespaces'],
  ['/api/v1', 'events'],
  ['/apis/berth.dev/v1alpha1', 'containers'],
  ['/apis/coordination.k8s.io/v1', 'leases'],
  ['/api/v1', 'nodes'],
  ['/apis/berth.dev/v1alpha1', 'nodes'],
);
const resourcePath = fc
  .record({
    gvr: fc.oneof({ weight: 5, arbitrary: served }, { weight: 1, arbitrary: fc.tuple(groupVersion, resource) }),
    ns: sometimes(namespace, 70),
    name: sometimes(name, 50),
    sub: sometimes(subresource, 15),
    mangle: sometimes(
      fc.record({ at: fc.nat(), how: fc.constantFrom('insert', 'double', 'trailing', 'trailing2') }),
      25,
    ),
    insert: hostileSegment,
  })
  .map(({ gvr: [gv, resource], ns, name, sub, mangle, insert }) => {
    const segments = [
      ...gv.split('/').filter((s) => s !== ''),
      ...(ns === undefined ? [] : ['namespaces', ns]),
      resource,
      ...(name === undefined ? [] : [name]),
      ...(name !== undefined && sub !== undefined ? [sub] : []),
    ];
    if (mangle?.how === 'insert') segments.splice(1 + (mangle.at % segments.length), 0, insert);
    let path = `/${segments.join('/')}`;
    if (mangle?.how === 'double') {
      const i = 1 + (mangle.at % (segments.length - 1 || 1));
      path = `/${[...segments.slice(0, i), '', ...segments.slice(i)].join('/')}`;
    }
    if (mangle?.how === 'trailing') path += '/';
    if (mangle?.how === 'trailing2') path += '//';
    return path;
  });

const queryValue = {
  labelSelector: fc.constantFrom(
    'a in (b',
    '!!',
    '=',
    'a=b,c!=d',
    'app=x',
    'a notin (b,c)',
    '!a',
    'a>1',
    'x'.repeat(1000),
    '%',
    enc('a=b=c'),
    enc('é=1'),
  ),
  fieldSelector: fc.constantFrom(
    'metadata.name=x',
    'metadata.name==keep-1',
    'spec.bogus=x',
    'metadata.name',
    '=',
    'metadata.namespace!=',
    enc('metadata.name in (a)'),
  ),
  limit: fc.constantFrom('-1', 'abc', '99999999999999999999', '0', '1e3', '1', '2', ''),
  continue: fc.constantFrom(
    'abc',
    'eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MSwic3RhcnQiOiJ4In0',
    '%00',
    '1',
    enc('{"rv":-1}'),
  ),
  resourceVersion: fc.constantFrom('abc', '-1', '0', '1', '99999999999999999999', '', '1.5'),
  resourceVersionMatch: fc.constantFrom('Exact', 'NotOlderThan', 'bogus'),
  dryRun: fc.constantFrom('All', 'bogus', ''),
  fieldManager: fc.constantFrom('m', 'x'.repeat(129), enc('é'), ''),
  fieldValidation: fc.constantFrom('Strict', 'Warn', 'Ignore', 'bogus'),
  force: fc.constantFrom('true', 'false', 'x'),
  propagationPolicy: fc.constantFrom('Orphan', 'Foreground', 'bogus'),
  gracePeriodSeconds: fc.constantFrom('0', '-1', 'x'),
  includeObject: fc.constantFrom('None', 'Object', 'bogus'),
  pretty: fc.constantFrom('true', 'x'),
  allowWatchBookmarks: fc.constantFrom('true', 'x'),
  sendInitialEvents: fc.constantFrom('true', 'false', 'x'),
};
const query = fc
  .record({
    pairs: fc
      .subarray(Object.keys(queryValue) as (keyof typeof queryValue)[], { maxLength: 3 })
      .chain((keys) => fc.tuple(...keys.map((k) => queryValue[k].map((v) => `${k}=${v}`)))),
    // Watches always carry a timeout (an invalid one is a 400; an empty one would mean the default 30 minutes).
    watch: sometimes(
      fc.tuple(fc.constantFrom('true', '1', 'false', 'x'), fc.constantFrom('1', '-1', 'x', '99999999999999999999', '')),
      3,
    ),
    raw: sometimes(fc.constantFrom('%', '&&&', '=x', 'a=%zz', 'limit=1&limit=2', enc('?')), 10),
  })
  .map(({ pairs, watch, raw }) => {
    const parts = [
      ...pairs,
      ...(watch === undefined ? [] : [`watch=${watch[0]}`, `timeoutSeconds=${watch[1] === '' ? '1' : watch[1]}`]),
      ...(raw === undefined ? [] : [raw]),
    ];
    return parts.length === 0 ? '' : `?${parts.join('&')}`;
  });

type Body = string | Buffer | (() => string | Buffer) | undefined;

const wrongTyped = fc.oneof(
  fc.constant(5),
  fc.constant(true),
  fc.constant(null),
  fc.constant([]),
  fc.constant('x'),
  fc.constant({}),
  fc.constant([5]),
  fc.constant({ a: 5 }),
);
const metadata = fc.record(
  {
    name: fc.oneof(name.map(decodeURIComponentSafe), wrongTyped),
    namespace: fc.oneof(fc.constantFrom('fuzz', 'keep', 'default', '..', ''), wrongTyped),
    generateName: fc.oneof(fc.constantFrom('g-', '..', 'x'.repeat(300)), wrongTyped),
    labels: fc.oneof(
      fc.dictionary(fc.string({ maxLength: 70 }), fc.string({ maxLength: 70 }), { maxKeys: 3 }),
      wrongTyped,
    ),
    annotations: fc.oneof(
      fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), { maxKeys: 3 }),
      wrongTyped,
    ),
    finalizers: fc.oneof(fc.array(fc.string({ maxLength: 30 }), { maxLength: 3 }), wrongTyped),
    ownerReferences: fc.oneof(
      fc.array(
        fc.record(
          { apiVersion: fc.string(), kind: fc.string(), name: fc.string(), uid: fc.string() },
          { requiredKeys: [] },
        ),
        { maxLength: 2 },
      ),
      wrongTyped,
    ),
    resourceVersion: fc.oneof(fc.constantFrom('1', 'abc', '-1', '99999999999999999999'), wrongTyped),
    uid: fc.oneof(fc.uuid(), wrongTyped),
    creationTimestamp: fc.oneof(fc.constantFrom('2020-01-01T00:00:00Z', 'yesterday', null), wrongTyped),
    deletionTimestamp: fc.oneof(fc.constantFrom('2020-01-01T00:00:00Z', 'x'), wrongTyped),
    managedFields: fc.oneof(
      fc.constant([{ manager: 'm', operation: 'Apply', fieldsType: 'FieldsV1', fieldsV1: { 'f:x': 5 } }]),
      wrongTyped,
    ),
  },
  { requiredKeys: [] },
);
const objectBody = fc
  .record(
    {
      apiVersion: fc.oneof(
        fc.constantFrom('v1', 'berth.dev/v1alpha1', 'coordination.k8s.io/v1', 'berth.dev/v9', 'v2', ''),
        wrongTyped,
      ),
      kind: fc.oneof(
        fc.constantFrom('ConfigMap', 'Secret', 'Container', 'Namespace', 'Lease', 'Event', 'Nope', ''),
        wrongTyped,
      ),
      metadata: fc.oneof({ weight: 5, arbitrary: metadata }, { weight: 1, arbitrary: wrongTyped }),
      data: fc.oneof(
        fc.dictionary(fc.string({ maxLength: 20 }), fc.oneof(fc.string({ maxLength: 20 }), wrongTyped), { maxKeys: 3 }),
        wrongTyped,
      ),
      stringData: fc.oneof(
        fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 10 }), { maxKeys: 2 }),
        wrongTyped,
      ),
      spec: fc.oneof(
        fc.jsonValue({ maxDepth: 4 }),
        fc.record(
          {
            image: fc.oneof(fc.string(), wrongTyped),
            restartPolicy: fc.oneof(fc.string(), wrongTyped),
            finalizers: fc.oneof(fc.array(fc.string()), wrongTyped),
          },
          { requiredKeys: [] },
        ),
      ),
      status: fc.jsonValue({ maxDepth: 3 }),
      type: fc.oneof(fc.constantFrom('Opaque', 'kubernetes.io/tls'), wrongTyped),
      immutable: fc.oneof(fc.boolean(), wrongTyped),
      involvedObject: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  )
  .map((o) => JSON.stringify(o));

/** A well-formed object of a served kind with one field set to something generated: most get past decoding. */
const templates: Record<string, unknown>[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web' }, data: { a: 'b' } },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'web' }, stringData: { a: 'b' } },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } },
  { apiVersion: 'berth.dev/v1alpha1', kind: 'Container', metadata: { name: 'web' }, spec: { image: 'busybox' } },
  {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'web' },
    spec: { holderIdentity: 'x', leaseDurationSeconds: 5 },
  },
  {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'web' },
    involvedObject: { kind: 'ConfigMap', name: 'web' },
    reason: 'R',
    message: 'm',
  },
  {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'web' },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  },
];
const fieldPaths = [
  'metadata.name',
  'metadata.namespace',
  'metadata.labels',
  'metadata.annotations',
  'metadata.finalizers',
  'metadata.ownerReferences',
  'metadata.resourceVersion',
  'metadata.generateName',
  'metadata.managedFields',
  'metadata.creationTimestamp',
  'metadata.deletionTimestamp',
  'metadata.uid',
  'metadata',
  'data',
  'data.a',
  'stringData',
  'spec',
  'spec.image',
  'spec.restartPolicy',
  'spec.leaseDurationSeconds',
  'status',
  'immutable',
  'type',
  'apiVersion',
  'kind',
  'involvedObject',
];
const plausibleBody = fc
  .record({
    template: fc.constantFrom(...templates),
    field: fc.constantFrom(...fieldPaths),
    value: fc.oneof(
      wrongTyped,
      fc.jsonValue({ maxDepth: 3 }),
      name.map(decodeURIComponentSafe),
      fc.constantFrom('x'.repeat(70_000), '', 'keep', 'keep-1', '2020-01-01T00:00:00Z', [
        { apiVersion: 'v1', kind: 'ConfigMap', name: 'keep-1', uid: 'u', controller: true },
      ]),
    ),
    pristine: fc.boolean(),
  })
  .map(({ template, field, value, pristine }) => {
    const obj = structuredClone(template);
    if (!pristine) {
      const keys = field.split('.');
      let at: Record<string, unknown> = obj;
      for (const k of keys.slice(0, -1)) {
        if (typeof at[k] !== 'object' || at[k] === null) at[k] = {};
        at = at[k] as Record<string, unknown>;
      }
      at[keys[keys.length - 1]!] = value;
    }
    return JSON.stringify(obj);
  });

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const pointer = fc.constantFrom(
  '/metadata/name',
  '/metadata/namespace',
  '/metadata/resourceVersion',
  '/metadata/labels/a',
  '/metadata',
  '/data/a',
  '/spec',
  '/spec/image',
  '/status',
  '',
  '/',
  '/~1',
  '/~2',
  '/a/-',
  '/metadata/finalizers/-',
  '/metadata/finalizers/99',
  '/kind',
  '/apiVersion',
  '/data/~0x',
);
const jsonPatch = fc
  .array(
    fc.record(
      {
        op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus'),
        path: fc.oneof(pointer, wrongTyped),
        from: fc.oneof(pointer, wrongTyped),
        value: fc.oneof(fc.jsonValue({ maxDepth: 3 }), wrongTyped),
      },
      { requiredKeys: ['op'] },
    ),
    { maxLength: 4 },
  )
  .map((ops) => JSON.stringify(ops));
const mergePatch = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.constantFrom(
    '{"metadata":{"name":"keep-1"}}',
    '{"metadata":{"namespace":"keep"}}',
    '{"metadata":null}',
    '{"metadata":{"finalizers":null}}',
    '{"apiVersion":"v2"}',
    '{"kind":"Secret"}',
    '{"data":{"a":null}}',
  ),
);
const strategicPatch = fc.constantFrom(
  '{"$patch":"delete"}',
  '{"$patch":"replace","data":{}}',
  '{"metadata":{"$patch":"delete"}}',
  '{"spec":{"$retainKeys":["x"],"x":1}}',
  '{"metadata":{"$deleteFromPrimitiveList/finalizers":["a"]}}',
  '{"metadata":{"$setElementOrder/finalizers":["a"]}}',
  '{"spec":{"$patch":5}}',
  '[]',
);

const deep = fc.tuple(fc.constantFrom(999, 1000, 1001, 5000, 50_000), fc.constantFrom('[', '{"a":')).map(
  ([d, open]) =>
    () =>
      open === '['
        ? `{"metadata":{"name":"deep"},"data":${'['.repeat(d)}${']'.repeat(d)}}`
        : `{"metadata":{"name":"deep"},"x":${open.repeat(d)}1${'}'.repeat(d)}}`,
);
const huge = fc.constantFrom(1, 2_000_000, 3 * 1024 * 1024 - 200, 3 * 1024 * 1024 + 1).map(
  (n) => () =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'huge', annotations: { a: 'x'.repeat(n) } },
      data: { k: 'v' },
    }),
);
const invalid = fc.oneof(
  fc.constantFrom(
    '{',
    '{"a":',
    '[',
    'null',
    '5',
    '"s"',
    '{"a":1}{"b":2}',
    '\u0000',
    '{"a":1,}',
    '{a:1}',
    'NaN',
    '{"__proto__":{"x":1}}',
    '{"constructor":{"prototype":{}}}',
    'a: [b\n',
    '---\n---\n',
    '- a\n- b\n',
    '&a [*a, *a]',
    '{"a":"\\ud800"}',
  ),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.string({ maxLength: 64, unit: 'binary' }),
);
const body: fc.Arbitrary<Body> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: objectBody },
  { weight: 8, arbitrary: plausibleBody },
  { weight: 2, arbitrary: jsonPatch },
  { weight: 2, arbitrary: mergePatch },
  { weight: 1, arbitrary: strategicPatch },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: huge },
  { weight: 3, arbitrary: invalid },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"bogus"}',
      '{"preconditions":{"uid":5}}',
      '{"dryRun":["bogus"]}',
      '{"gracePeriodSeconds":"x"}',
    ),
  },
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
  'application/apply-patch+yaml',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
  'application/xml',
  'text/plain',
  'application/json; charset=latin1',
  'application/json;;;',
  '',
);
const accept = fc.constantFrom(
  undefined,
  'application/json',
  'application/json;as=Table;v=v1;g=meta.k8s.io',
  'application/json;as=Table;v=v9;g=meta.k8s.io',
  'application/vnd.kubernetes.protobuf',
  'application/yaml',
  'text/html',
  '*/*',
  'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io',
  'garbage;;;',
);
const method = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.constantFrom(
      'GET',
      'GET',
      'POST',
      'POST',
      'POST',
      'PUT',
      'PUT',
      'PATCH',
      'PATCH',
      'PATCH',
      'PATCH',
      'DELETE',
      'DELETE',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('HEAD', 'OPTIONS', 'TRACE', 'PROPFIND') },
);

interface Hostile {
  method: string;
  path: string;
  body: Body;
  contentType: string;
  accept: string | undefined;
}

const hostile: fc.Arbitrary<Hostile> = fc
  .record({
    method,
    path: fc.oneof({ weight: 12, arbitrary: resourcePath }, { weight: 1, arbitrary: special }),
    query,
    body,
    contentType,
    accept,
    insert: hostileSegment,
    at: fc.nat(),
  })
  .map(({ method, path, query, body, contentType, accept, insert, at }) => {
    // Well-formed writes may do what they say to anything but the preloaded objects: a write whose path names one of
    // them gets a dot segment or encoded slash, so that no server may let it reach them.
    const segments = path.split('/');
    const touchesKeep = segments.some((s) => {
      const d = decodeURIComponentSafe(s);
      return d === keepNs || d.startsWith('keep-');
    });
    if (touchesKeep && !['GET', 'HEAD'].includes(method)) {
      segments.splice(1 + (at % (segments.length - 1 || 1)), 0, insert);
      path = segments.join('/');
    }
    return { method, path: `${path}${query}`, body, contentType, accept };
  });

/**
 * Requests a real client could send to the scratch namespace (right path, verb and media type for the kind), with
 * one generated field or patch: these reach validation, admission, patching, field ownership and storage.
 */
const kinds: [path: string, template: number][] = [
  ['/api/v1/namespaces/fuzz/configmaps', 0],
  ['/api/v1/namespaces/fuzz/secrets', 1],
  ['/api/v1/namespaces', 2],
  ['/apis/berth.dev/v1alpha1/namespaces/fuzz/containers', 3],
  ['/apis/coordination.k8s.io/v1/namespaces/fuzz/leases', 4],
  ['/api/v1/namespaces/fuzz/events', 5],
  ['/api/v1/nodes', 6],
];
const coherent: fc.Arbitrary<Hostile> = fc
  .record({
    kind: fc.constantFrom(...kinds),
    verb: fc.constantFrom(
      'create',
      'create',
      'update',
      'merge',
      'json',
      'strategic',
      'apply',
      'apply',
      'delete',
      'status',
    ),
    tweak: plausibleBody,
    merge: mergePatch,
    json: jsonPatch,
    strategic: strategicPatch,
    q: query,
  })
  .map(({ kind: [collection, template], verb, tweak, merge, json, strategic, q }) => {
    const t = templates[template]!;
    // The tweak came from any template: keep its change, but speak of this kind.
    const body = JSON.stringify({
      ...t,
      ...(JSON.parse(tweak) as object),
      apiVersion: t['apiVersion'],
      kind: t['kind'],
    });
    const item = `${collection}/web`;
    const safeQuery = q.replace(/(^|&|\?)(watch|dryRun)=[^&]*/g, '$1x=y');
    switch (verb) {
      case 'create':
        return {
          method: 'POST',
          path: `${collection}${safeQuery}`,
          body,
          contentType: 'application/json',
          accept: undefined,
        };
      case 'update':
        return { method: 'PUT', path: `${item}${safeQuery}`, body, contentType: 'application/json', accept: undefined };
      case 'merge':
        return {
          method: 'PATCH',
          path: item,
          body: merge,
          contentType: 'application/merge-patch+json',
          accept: undefined,
        };
      case 'json':
        return {
          method: 'PATCH',
          path: item,
          body: json,
          contentType: 'application/json-patch+json',
          accept: undefined,
        };
      case 'strategic':
        return {
          method: 'PATCH',
          path: item,
          body: strategic,
          contentType: 'application/strategic-merge-patch+json',
          accept: undefined,
        };
      case 'apply':
        return {
          method: 'PATCH',
          path: `${item}?fieldManager=fuzz&force=true`,
          body,
          contentType: 'application/apply-patch+yaml',
          accept: undefined,
        };
      case 'status':
        return { method: 'PUT', path: `${item}/status`, body, contentType: 'application/json', accept: undefined };
      default:
        return { method: 'DELETE', path: item, body: undefined, contentType: 'application/json', accept: undefined };
    }
  });

// ---- the run --------------------------------------------------------------------------------------------------

interface Finding {
  readonly request: string;
  readonly problem: string;
}

function describe(h: Hostile, text: string | Buffer | undefined): string {
  const b =
    text === undefined
      ? ''
      : typeof text === 'string'
        ? text
        : `<${text.length} bytes: ${text.subarray(0, 40).toString('hex')}>`;
  return `${h.method} ${h.path.slice(0, 300)} [${h.contentType}] ${b.length > 300 ? `${b.slice(0, 300)}… (${b.length} chars)` : b}`;
}

t.test('hostile-input run', async (t) => {
  // No scheduler: a Node the run creates would take the preloaded unbound Container, which must stay as it was.
  const ts = await startTestServer({ controllers: ['*', '-scheduler'] });
  t.teardown(() => ts.close());
  for (const ns of [keepNs, 'fuzz']) {
    t.equal(
      (
        await request(ts, 'POST', '/api/v1/namespaces', {
          body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }),
          contentType: 'application/json',
        })
      ).status,
      201,
    );
    for (const o of preload(ns))
      t.equal(
        (await request(ts, 'POST', o.path, { body: JSON.stringify(o.body), contentType: 'application/json' })).status,
        201,
        o.path,
      );
  }
  const before = await snapshot(ts);

  // Node's client refuses spaces and non-Latin-1 characters in a path: those are percent-encoded (UTF-8), nothing else.
  const sendable = (h: Hostile): Hostile => ({
    ...h,
    path: h.path.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c)),
  });
  const cases = fc
    .sample(fc.oneof({ weight: 2, arbitrary: hostile }, { weight: 1, arbitrary: coherent }), { seed, numRuns: runs })
    .map(sendable);
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  t.teardown(() => agent.destroy());
  const findings: Finding[] = [];
  const codes = new Map<number, number>();
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const h = cases[next++]!;
      const b = typeof h.body === 'function' ? h.body() : h.body;
      const described = () => describe(h, b);
      try {
        const r = await rawRequest(ts, h.method, h.path, {
          ...(b === undefined ? {} : { body: b }),
          contentType: h.contentType,
          ...(h.accept === undefined ? {} : { accept: h.accept }),
          agent,
          timeoutMs: 10_000,
        });
        codes.set(r.status, (codes.get(r.status) ?? 0) + 1);
        // Kubernetes' own 5xx for a watch from the future is an answer, not a failure.
        const s = statusOf(r.text);
        const futureWatch =
          r.status === 504 && s?.reason === 'Timeout' && /Too large resource version/.test(s.message ?? '');
        if (r.status >= 500 && !futureWatch)
          findings.push({ request: described(), problem: `${r.status} ${r.text.slice(0, 300)}` });
        if (r.status >= 400 && r.status < 500 && h.method !== 'HEAD') {
          if (s?.kind !== 'Status' || s.code !== r.status)
            findings.push({
              request: described(),
              problem: `${r.status} without a matching Status: ${r.text.slice(0, 200)}`,
            });
        }
      } catch (e) {
        findings.push({ request: described(), problem: `no answer: ${(e as Error).message}` });
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const elapsed = Date.now() - started;
  t.comment(
    `${cases.length} requests in ${elapsed} ms (seed ${seed}); answers: ${[...codes]
      .sort((a, b) => a[0] - b[0])
      .map(([c, n]) => `${c}×${n}`)
      .join(' ')}`,
  );
  for (const f of findings.slice(0, 40)) t.comment(`${f.problem}\n    <- ${f.request}`);
  t.same(findings, [], `no 5xx, no hang, every 4xx a Status (${findings.length} findings)`);
  t.ok((codes.get(200) ?? 0) + (codes.get(201) ?? 0) > 50, 'some requests succeeded: the run reached the handlers');

  const after = await snapshot(ts);
  t.same(Object.keys(after).sort(), Object.keys(before).sort(), 'the same objects are there');
  for (const [k, v] of Object.entries(before)) t.same(after[k], v, `${k} is unchanged`);
  t.equal((await request(ts, 'GET', '/readyz')).status, 200, 'the server is still ready');
});
