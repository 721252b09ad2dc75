import t from 'tap';
import {
  apply,
  conflictStatus,
  recordUpdate,
  LAST_APPLIED_ANNOTATION,
  ApplyError,
  type ApplyConflict,
} from '../../src/field-ownership/index.js';
import type { JsonObject, JsonValue } from '../../src/patch/json-value.js';
import { AV, ctr, schema, T0, T1, T2, T3 } from './fixtures.js';

type Opts = { force?: boolean; subresource?: 'status'; statusSubresource?: boolean; schema?: JsonObject | undefined };

function ssa(live: JsonObject | undefined, config: JsonObject, manager: string, now: string, o: Opts = {}): JsonObject {
  const r = apply({ live, config, manager, apiVersion: AV, schema: 'schema' in o ? o.schema : schema, now, ...o });
  if (!r.ok) throw new Error(`unexpected conflicts: ${JSON.stringify(r.conflicts)}`);
  return r.object;
}

function conflicts(
  live: JsonObject,
  config: JsonObject,
  manager: string,
  now: string,
  o: Opts = {},
): readonly ApplyConflict[] {
  const r = apply({ live, config, manager, apiVersion: AV, schema, now, ...o });
  if (r.ok) throw new Error('expected conflicts');
  return r.conflicts;
}

/** A non-apply write (create when before is undefined) with its managedFields recorded. */
function write(
  before: JsonObject | undefined,
  after: JsonObject,
  manager: string,
  now: string,
  o: Opts = {},
): JsonObject {
  const mf = recordUpdate({ before, after, manager, apiVersion: AV, schema, now, ...o });
  const meta = { ...(after['metadata'] as JsonObject) };
  if (mf === undefined) delete meta['managedFields'];
  else meta['managedFields'] = mf;
  return { ...after, metadata: meta };
}

function mf(o: JsonObject): JsonValue {
  return (o['metadata'] as JsonObject)['managedFields'] ?? null;
}
function spec(o: JsonObject): JsonValue {
  return o['spec'] ?? null;
}
const entry = (
  manager: string,
  operation: 'Apply' | 'Update',
  time: string,
  fieldsV1: JsonObject,
  extra: JsonObject = {},
): JsonObject => ({
  manager,
  operation,
  apiVersion: AV,
  time,
  fieldsType: 'FieldsV1',
  fieldsV1,
  ...extra,
});

t.test('apply creates: object is the config, one Apply entry without "." on named fields', async (t) => {
  const o = ssa(undefined, ctr({ image: 'nginx', ports: [{ port: 80 }] }, { labels: { app: 'demo' } }), 'kubectl', T0);
  t.same(spec(o), { image: 'nginx', ports: [{ port: 80 }] });
  t.same(mf(o), [
    entry('kubectl', 'Apply', T0, {
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': { 'f:image': {}, 'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} } } },
    }),
  ]);
});

t.test('create through POST records an Update with "." on added structs and map items', async (t) => {
  const o = write(
    undefined,
    ctr({ image: 'nginx', env: { A: '1' } }, { labels: { app: 'demo' }, uid: 'u', resourceVersion: '1' }),
    'kubectl-create',
    T0,
  );
  t.same(mf(o), [
    entry('kubectl-create', 'Update', T0, {
      'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
      'f:spec': { '.': {}, 'f:env': { '.': {}, 'f:A': {} }, 'f:image': {} },
    }),
  ]);
});

t.test('no-op re-apply: same object back, changed=false, time untouched', async (t) => {
  const config = ctr({ image: 'nginx', tags: ['a'], ports: [{ port: 80, name: 'http' }], env: { A: '1' } });
  const live = ssa(undefined, config, 'kubectl', T0);
  const r = apply({ live, config, manager: 'kubectl', apiVersion: AV, schema, now: T1 });
  t.ok(r.ok);
  if (!r.ok) return;
  t.equal(r.changed, false);
  t.equal(r.object, live, 'the live object itself');
  t.equal(((mf(r.object) as JsonObject[])[0] as JsonObject)['time'], T0);
});

t.test("a changed value updates the object and the applier's time only", async (t) => {
  let live = ssa(undefined, ctr({ image: 'nginx' }), 'a', T0);
  live = ssa(live, ctr({ replicas: 2 }), 'b', T1);
  const r = apply({ live, config: ctr({ image: 'redis' }), manager: 'a', apiVersion: AV, schema, now: T2 });
  t.ok(r.ok && r.changed);
  if (!r.ok) return;
  t.same(spec(r.object), { image: 'redis', replicas: 2 });
  t.same(mf(r.object), [
    entry('b', 'Apply', T1, { 'f:spec': { 'f:replicas': {} } }),
    entry('a', 'Apply', T2, { 'f:spec': { 'f:image': {} } }),
  ]);
});

t.test('conflict with an Update manager: data, message and Status as Kubernetes words them', async (t) => {
  const live = write(undefined, ctr({ image: 'nginx', replicas: 1 }, { uid: 'u' }), 'kubectl-create', T0);
  const cs = conflicts(live, ctr({ image: 'redis', replicas: 1 }), 'tool', T1);
  t.same(cs, [
    {
      manager: 'kubectl-create',
      operation: 'Update',
      apiVersion: AV,
      time: T0,
      field: '.spec.image',
      path: ['f:spec', 'f:image'],
    },
  ]);
  t.same(conflictStatus(cs), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `Apply failed with 1 conflict: conflict with "kubectl-create" using ${AV}: .spec.image`,
    reason: 'Conflict',
    details: {
      causes: [
        { reason: 'FieldManagerConflict', message: `conflict with "kubectl-create" using ${AV}`, field: '.spec.image' },
      ],
    },
    code: 409,
  });
});

t.test('several conflicts with two managers: grouped message', async (t) => {
  let live = ssa(undefined, ctr({ image: 'nginx', replicas: 1 }), 'a', T0);
  live = ssa(live, ctr({ args: ['x'], ports: [{ port: 80, name: 'http' }] }), 'b', T1);
  const cs = conflicts(
    live,
    ctr({ image: 'redis', replicas: 2, args: ['y'], ports: [{ port: 80, name: 'web' }] }),
    'c',
    T2,
  );
  t.equal(
    conflictStatus(cs).message,
    'Apply failed with 4 conflicts: conflicts with "a":\n- .spec.image\n- .spec.replicas\nconflicts with "b":\n- .spec.args\n- .spec.ports[port=80,protocol="TCP"].name',
  );
  t.equal(conflictStatus(cs).details.causes.length, 4);
});

t.test('equal values are shared, not conflicts; either manager dropping it keeps it', async (t) => {
  let live = ssa(undefined, ctr({ image: 'nginx', replicas: 1 }), 'a', T0);
  live = ssa(live, ctr({ image: 'nginx' }), 'b', T1);
  t.same(mf(live), [
    entry('a', 'Apply', T0, { 'f:spec': { 'f:image': {}, 'f:replicas': {} } }),
    entry('b', 'Apply', T1, { 'f:spec': { 'f:image': {} } }),
  ]);
  live = ssa(live, ctr({ replicas: 1 }), 'a', T2);
  t.same(spec(live), { image: 'nginx', replicas: 1 }, 'still owned by b');
  t.same(mf(live), [
    entry('b', 'Apply', T1, { 'f:spec': { 'f:image': {} } }),
    entry('a', 'Apply', T2, { 'f:spec': { 'f:replicas': {} } }),
  ]);
});

t.test('force takes ownership; a manager left with nothing disappears', async (t) => {
  let live = ssa(undefined, ctr({ image: 'nginx' }), 'a', T0);
  live = ssa(live, ctr({ image: 'redis' }), 'b', T1, { force: true });
  t.same(spec(live), { image: 'redis' });
  t.same(mf(live), [entry('b', 'Apply', T1, { 'f:spec': { 'f:image': {} } })]);
});

t.test('removal: a field the manager applied before and omits now goes, unless someone else owns it', async (t) => {
  let live = ssa(
    undefined,
    ctr({ image: 'nginx', replicas: 3, resources: { limits: { cpu: 1, memory: '1Gi' } } }),
    'a',
    T0,
  );
  live = ssa(live, ctr({ image: 'nginx', resources: { limits: { memory: '1Gi' } } }), 'a', T1);
  t.same(spec(live), { image: 'nginx', resources: { limits: { memory: '1Gi' } } });
  live = ssa(live, ctr({ image: 'nginx' }), 'a', T2);
  t.same(spec(live), { image: 'nginx' }, 'a struct emptied of everything the manager owned goes as a whole');
  t.same(mf(live), [entry('a', 'Apply', T2, { 'f:spec': { 'f:image': {} } })]);

  // An Update manager's field survives the applier dropping it.
  let l2 = ssa(undefined, ctr({ image: 'nginx', replicas: 3 }), 'a', T0);
  l2 = write(l2, { ...l2, spec: { image: 'nginx', replicas: 5 } }, 'kubectl-scale', T1);
  l2 = ssa(l2, ctr({ image: 'nginx' }), 'a', T2);
  t.same(spec(l2), { image: 'nginx', replicas: 5 });
});

t.test('removal keeps what another manager shares inside a dropped struct', async (t) => {
  let live = ssa(undefined, ctr({ resources: { limits: { cpu: '1', memory: '1Gi' } } }), 'a', T0);
  live = ssa(live, ctr({ resources: { limits: { memory: '1Gi' } } }), 'b', T1);
  live = ssa(live, ctr({}), 'a', T2);
  t.same(spec(live), { resources: { limits: { memory: '1Gi' } } });
  t.same(
    mf(live),
    [
      entry('b', 'Apply', T1, { 'f:spec': { 'f:resources': { 'f:limits': { 'f:memory': {} } } } }),
      entry('a', 'Apply', T2, { 'f:spec': {} }, {}),
    ],
    'a now owns only the (empty) spec it applied',
  );
});

t.test('applying at another apiVersion moves the Apply entry there', async (t) => {
  let live = ssa(undefined, ctr({ image: 'nginx' }), 'a', T0);
  const r = apply({
    live,
    config: { ...ctr({ image: 'nginx' }), apiVersion: 'berth.dev/v1beta1' },
    manager: 'a',
    apiVersion: 'berth.dev/v1beta1',
    schema,
    now: T1,
  });
  t.ok(r.ok);
  if (!r.ok) return;
  live = r.object;
  t.same(mf(live), [{ ...entry('a', 'Apply', T1, { 'f:spec': { 'f:image': {} } }), apiVersion: 'berth.dev/v1beta1' }]);
});

t.test("map lists merge by key, keep others' items, remove only the applier's dropped items", async (t) => {
  let live = ssa(
    undefined,
    ctr({
      containers: [
        { name: 'app', image: 'a:1' },
        { name: 'log', image: 'l:1' },
      ],
    }),
    'a',
    T0,
  );
  live = ssa(live, ctr({ containers: [{ name: 'sidecar', image: 's:1' }] }), 'b', T1);
  t.same(spec(live), {
    containers: [
      { name: 'app', image: 'a:1' },
      { name: 'log', image: 'l:1' },
      { name: 'sidecar', image: 's:1' },
    ],
  });
  live = ssa(live, ctr({ containers: [{ name: 'app', image: 'a:2' }] }), 'a', T2);
  t.same(spec(live), {
    containers: [
      { name: 'app', image: 'a:2' },
      { name: 'sidecar', image: 's:1' },
    ],
  });
  t.same(mf(live), [
    entry('b', 'Apply', T1, {
      'f:spec': { 'f:containers': { 'k:{"name":"sidecar"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
    }),
    entry('a', 'Apply', T2, {
      'f:spec': { 'f:containers': { 'k:{"name":"app"}': { '.': {}, 'f:image': {}, 'f:name': {} } } },
    }),
  ]);
  // Another manager may set a field inside an item it does not own; that is not a conflict with the item.
  live = ssa(
    live,
    ctr({
      containers: [
        { name: 'app', args: ['-v'] },
        { name: 'sidecar', image: 's:1' },
      ],
    }),
    'b',
    T3,
  );
  t.same(spec(live), {
    containers: [
      { name: 'app', image: 'a:2', args: ['-v'] },
      { name: 'sidecar', image: 's:1' },
    ],
  });
  // b omitting sidecar now removes it: nobody else owns it.
  live = ssa(live, ctr({ containers: [{ name: 'app', args: ['-v'] }] }), 'b', T3);
  t.same(spec(live), { containers: [{ name: 'app', image: 'a:2', args: ['-v'] }] });
});

t.test('map-list keys: sorted by name in k:{}, defaults fill missing keys, paths print like Kubernetes', async (t) => {
  const live = ssa(undefined, ctr({ ports: [{ protocol: 'UDP', port: 53, name: 'dns' }, { port: 80 }] }), 'a', T0);
  t.same(mf(live), [
    entry('a', 'Apply', T0, {
      'f:spec': {
        'f:ports': {
          'k:{"port":53,"protocol":"UDP"}': { '.': {}, 'f:name': {}, 'f:port': {}, 'f:protocol': {} },
          'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:port': {} },
        },
      },
    }),
  ]);
  const cs = conflicts(live, ctr({ ports: [{ port: 53, protocol: 'UDP', name: 'domain' }] }), 'b', T1);
  t.equal(cs[0]?.field, '.spec.ports[port=53,protocol="UDP"].name');
});

t.test("set lists: union of managers' items, v: elements, removal of the applier's dropped items", async (t) => {
  let live = ssa(undefined, ctr({ tags: ['a', 'b'] }), 'a', T0);
  live = ssa(live, ctr({ tags: ['c', 'b'] }), 'b', T1);
  t.same(spec(live), { tags: ['a', 'c', 'b'] });
  t.same(mf(live), [
    entry('a', 'Apply', T0, { 'f:spec': { 'f:tags': { 'v:"a"': {}, 'v:"b"': {} } } }),
    entry('b', 'Apply', T1, { 'f:spec': { 'f:tags': { 'v:"b"': {}, 'v:"c"': {} } } }),
  ]);
  live = ssa(live, ctr({ tags: [] }), 'a', T2);
  t.same(spec(live), { tags: ['c', 'b'] }, 'a dropped "a"; "b" stays because b owns it too');
});

t.test('atomic lists: replaced whole; a different list is a conflict on the list', async (t) => {
  let live = ssa(undefined, ctr({ args: ['a', 'b'] }), 'a', T0);
  const cs = conflicts(live, ctr({ args: ['c'] }), 'b', T1);
  t.same(
    cs.map((c) => c.field),
    ['.spec.args'],
  );
  live = ssa(live, ctr({ args: ['c'] }), 'b', T1, { force: true });
  t.same(spec(live), { args: ['c'] });
  t.same(mf(live), [entry('b', 'Apply', T1, { 'f:spec': { 'f:args': {} } })]);
});

t.test('granular maps merge per key; atomic maps replace whole', async (t) => {
  let live = ssa(undefined, ctr({ env: { A: '1' }, selector: { app: 'x' } }), 'a', T0);
  live = ssa(live, ctr({ env: { B: '2' } }), 'b', T1);
  t.same(spec(live), { env: { A: '1', B: '2' }, selector: { app: 'x' } });
  t.same(
    conflicts(live, ctr({ selector: { tier: 'y' } }), 'b', T2).map((c) => c.field),
    ['.spec.selector'],
  );
  live = ssa(live, ctr({ env: { B: '2' }, selector: { tier: 'y' } }), 'b', T2, { force: true });
  t.same(spec(live), { env: { A: '1', B: '2' }, selector: { tier: 'y' } });
  t.same(mf(live), [
    entry('a', 'Apply', T0, { 'f:spec': { 'f:env': { 'f:A': {} } } }),
    entry('b', 'Apply', T2, { 'f:spec': { 'f:env': { 'f:B': {} }, 'f:selector': {} } }),
  ]);
});

t.test('preserve-unknown-fields and missing schema: maps granular (keys are members), lists atomic', async (t) => {
  let live = ssa(undefined, ctr({ extra: { a: { b: 1 }, l: [1, 2] } }), 'a', T0);
  t.same(mf(live), [
    entry('a', 'Apply', T0, { 'f:spec': { 'f:extra': { 'f:a': { '.': {}, 'f:b': {} }, 'f:l': {} } } }),
  ]);
  live = ssa(live, ctr({ extra: { a: { c: 2 } } }), 'b', T1);
  t.same(spec(live), { extra: { a: { b: 1, c: 2 }, l: [1, 2] } });

  const noSchema = ssa(undefined, ctr({ image: 'x', list: [1] }), 'a', T0, { schema: undefined });
  t.same(mf(noSchema), [entry('a', 'Apply', T0, { 'f:spec': { '.': {}, 'f:image': {}, 'f:list': {} } })]);
});

t.test('metadata: labels and annotations granular, finalizers a set; identity fields never tracked', async (t) => {
  const live = ssa(
    undefined,
    ctr(
      {},
      {
        labels: { a: '1' },
        annotations: { n: 'x' },
        finalizers: ['berth.dev/f'],
        uid: 'u',
        resourceVersion: '3',
        generation: 1,
      },
    ),
    'a',
    T0,
  );
  t.same(mf(live), [
    entry('a', 'Apply', T0, {
      'f:metadata': {
        'f:annotations': { 'f:n': {} },
        'f:finalizers': { 'v:"berth.dev/f"': {} },
        'f:labels': { 'f:a': {} },
      },
      'f:spec': {},
    }),
  ]);
});

t.test('status: the main resource neither changes nor tracks it; /status writes track only status', async (t) => {
  const o = { statusSubresource: true };
  let live = ssa(undefined, { ...ctr({ image: 'nginx' }), status: { phase: 'Bogus' } }, 'a', T0, o);
  t.equal(live['status'], undefined, 'status from a main-resource apply is dropped');
  t.same(mf(live), [entry('a', 'Apply', T0, { 'f:spec': { 'f:image': {} } })]);
  live = ssa(live, { ...ctr({ image: 'ignored' }), status: { phase: 'Running' } }, 'agent', T1, {
    ...o,
    subresource: 'status',
  });
  t.same(live['status'], { phase: 'Running' });
  t.same(spec(live), { image: 'nginx' }, 'spec untouched by a /status apply');
  t.same(mf(live), [
    entry('a', 'Apply', T0, { 'f:spec': { 'f:image': {} } }),
    entry('agent', 'Apply', T1, { 'f:status': { 'f:phase': {} } }, { subresource: 'status' }),
  ]);
  // A status write by Update, through recordUpdate.
  const next = { ...live, status: { phase: 'Running', ip: '10.0.0.2' } };
  live = write(live, next, 'node-agent', T2, { ...o, subresource: 'status' });
  t.same(mf(live), [
    entry('a', 'Apply', T0, { 'f:spec': { 'f:image': {} } }),
    entry('agent', 'Apply', T1, { 'f:status': { 'f:phase': {} } }, { subresource: 'status' }),
    entry('node-agent', 'Update', T2, { 'f:status': { 'f:ip': {} } }, { subresource: 'status' }),
  ]);
  // A main-resource update that (wrongly) carries another status takes nothing from the status managers.
  const main = write(live, { ...live, spec: { image: 'nginx' }, status: { phase: 'X' } }, 'kubectl-replace', T3, o);
  t.same(mf(main), mf(live));
});

t.test('recordUpdate: changed fields move to the writer; one entry per manager; empty managers go', async (t) => {
  let live = ssa(undefined, ctr({ image: 'nginx' }, { labels: { app: 'demo' } }), 'kubectl', T0);
  live = write(
    live,
    { ...live, metadata: { ...(live['metadata'] as JsonObject), labels: { app: 'demo', env: 'prod' } } },
    'kubectl-label',
    T1,
  );
  live = write(
    live,
    { ...live, metadata: { ...(live['metadata'] as JsonObject), labels: { app: 'web', env: 'prod' } } },
    'kubectl-label',
    T2,
  );
  t.same(mf(live), [
    entry('kubectl', 'Apply', T0, { 'f:spec': { 'f:image': {} } }),
    entry('kubectl-label', 'Update', T2, { 'f:metadata': { 'f:labels': { 'f:app': {}, 'f:env': {} } } }),
  ]);
  const same = write(live, { ...live }, 'kubectl-edit', T3);
  t.same(mf(same), mf(live), 'a write that changes nothing records nothing');
});

t.test('client-written managedFields replace the stored ones; [{}] clears them', async (t) => {
  const live = ssa(undefined, ctr({ image: 'nginx' }), 'kubectl-client-side-apply', T0);
  const folded = [entry('kubectl', 'Apply', T0, { 'f:spec': { 'f:image': {} } })];
  const migrated = write(
    live,
    { ...live, metadata: { ...(live['metadata'] as JsonObject), managedFields: folded } },
    'kubectl',
    T1,
  );
  t.same(mf(migrated), folded);
  const cleared = write(
    live,
    { ...live, metadata: { ...(live['metadata'] as JsonObject), managedFields: [{}] } },
    'kubectl-edit',
    T1,
  );
  t.equal(mf(cleared), null);
  // ...and an untracked object stays untracked on Update (as in Kubernetes), but apply starts tracking.
  const again = write(cleared, { ...cleared, spec: { image: 'redis' } }, 'kubectl-edit', T2);
  t.equal(mf(again), null);
  const applied = ssa(again, ctr({ replicas: 2 }), 'a', T3);
  t.same(mf(applied), [
    entry('a', 'Apply', T3, { 'f:spec': { 'f:replicas': {} } }),
    entry('before-first-apply', 'Update', T3, { 'f:spec': { '.': {}, 'f:image': {} } }),
  ]);
});

t.test('at most 10 Update entries: the oldest fold into ancient-changes', async (t) => {
  let live = ssa(undefined, ctr({}), 'a', T0);
  for (let i = 0; i < 12; i++) {
    const now = `2026-11-25T10:${String(i).padStart(2, '0')}:00Z`;
    const labels = { ...((live['metadata'] as JsonObject)['labels'] as JsonObject | undefined), [`l${i}`]: 'x' };
    live = write(live, { ...live, metadata: { ...(live['metadata'] as JsonObject), labels } }, `m${i}`, now);
  }
  const entries = mf(live) as JsonObject[];
  const updates = entries.filter((e) => e['operation'] === 'Update');
  t.equal(updates.length, 10);
  const ancient = updates.find((e) => e['manager'] === 'ancient-changes');
  t.same(ancient?.['fieldsV1'], { 'f:metadata': { 'f:labels': { '.': {}, 'f:l0': {}, 'f:l1': {}, 'f:l2': {} } } });
  t.equal(ancient?.['time'], '2026-11-25T10:02:00Z');
  t.same(updates.map((e) => e['manager']).slice(1), ['m3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10', 'm11']);
});

t.test('kubectl: client-side then server-side apply migrates without spurious conflicts', async (t) => {
  // kubectl apply (client-side) created the object with the annotation, under kubectl-client-side-apply.
  const manifest = ctr({ image: 'nginx', replicas: 1 });
  const la = `${JSON.stringify({ ...manifest, metadata: { ...(manifest['metadata'] as JsonObject), annotations: {} } })}\n`;
  const created = write(
    undefined,
    {
      ...manifest,
      metadata: { ...(manifest['metadata'] as JsonObject), annotations: { [LAST_APPLIED_ANNOTATION]: la } },
    },
    'kubectl-client-side-apply',
    T0,
  );
  // kubectl apply --server-side of a changed manifest: replicas differs from live, but live still equals
  // the last-applied value, so no conflict; the annotation is rewritten to the new config.
  const changed = ctr({ image: 'nginx', replicas: 3 });
  const r = apply({ live: created, config: changed, manager: 'kubectl', apiVersion: AV, schema, now: T1 });
  t.ok(r.ok, 'no conflict');
  if (!r.ok) return;
  t.same(spec(r.object), { image: 'nginx', replicas: 3 });
  const ann = ((r.object['metadata'] as JsonObject)['annotations'] as JsonObject)[LAST_APPLIED_ANNOTATION];
  t.equal(
    ann,
    '{"apiVersion":"berth.dev/v1alpha1","kind":"Container","metadata":{"name":"web","namespace":"default"},"spec":{"image":"nginx","replicas":3}}\n',
  );
  // A field someone changed since the client-side apply is still a conflict.
  const drifted = write(created, { ...created, spec: { image: 'httpd', replicas: 1 } }, 'kubectl-edit', T1);
  const cs = conflicts(drifted, ctr({ image: 'redis', replicas: 3 }), 'kubectl', T2);
  t.same(
    cs.map((c) => `${c.manager} ${c.field}`),
    ['kubectl-edit .spec.image'],
  );
  // Other managers get no exemption.
  t.equal(conflicts(created, changed, 'helm', T1).length, 1);
});

t.test('bad apply bodies are refused as Kubernetes refuses them', async (t) => {
  t.throws(
    () =>
      apply({ live: undefined, config: ctr({}, { managedFields: [] }), manager: 'a', apiVersion: AV, schema, now: T0 }),
    {
      message: 'metadata.managedFields must be nil',
    },
  );
  try {
    apply({
      live: undefined,
      config: { ...ctr({}), apiVersion: 'berth.dev/v1' },
      manager: 'a',
      apiVersion: AV,
      schema,
      now: T0,
    });
    t.fail('expected ApplyError');
  } catch (e) {
    t.ok(ApplyError.isInstance(e));
    t.equal(
      (e as Error).message,
      `Incorrect version specified in apply patch. Specified patch version: berth.dev/v1, expected: ${AV}`,
    );
  }
  t.throws(
    () =>
      apply({
        live: undefined,
        config: ctr({ ports: [{ name: 'x' }] }),
        manager: 'a',
        apiVersion: AV,
        schema: {
          type: 'object',
          properties: {
            spec: {
              type: 'object',
              properties: {
                ports: {
                  type: 'array',
                  'x-kubernetes-list-type': 'map',
                  'x-kubernetes-list-map-keys': ['port'],
                  items: { type: 'object' },
                },
              },
            },
          },
        },
        now: T0,
      }),
    {
      code: 'BERTH_APPLY_INVALID_OBJECT',
    },
  );
});

t.test(
  'built-in schemas: a strategic-merge list without a list type is a map list keyed by its merge key',
  async (t) => {
    const sa: JsonObject = {
      type: 'object',
      properties: {
        secrets: {
          type: 'array',
          'x-kubernetes-patch-strategy': 'merge',
          'x-kubernetes-patch-merge-key': 'name',
          items: { type: 'object', properties: { name: { type: 'string' } } },
        },
        imagePullSecrets: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
      },
    };
    const base = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', namespace: 'default' } };
    const a = apply({
      live: undefined,
      config: { ...base, secrets: [{ name: 's1' }], imagePullSecrets: [{ name: 'p1' }] },
      manager: 'a',
      apiVersion: 'v1',
      schema: sa,
      now: T0,
    });
    if (!a.ok) throw new Error('conflict');
    const b = apply({
      live: a.object,
      config: { ...base, secrets: [{ name: 's2' }] },
      manager: 'b',
      apiVersion: 'v1',
      schema: sa,
      now: T1,
    });
    if (!b.ok) throw new Error('conflict');
    t.same(b.object['secrets'], [{ name: 's1' }, { name: 's2' }]);
    t.same(
      ((b.object['metadata'] as JsonObject)['managedFields'] as JsonObject[]).map((e) => e['fieldsV1']),
      [
        { 'f:imagePullSecrets': {}, 'f:secrets': { 'k:{"name":"s1"}': { '.': {}, 'f:name': {} } } },
        { 'f:secrets': { 'k:{"name":"s2"}': { '.': {}, 'f:name': {} } } },
      ],
    );
  },
);
