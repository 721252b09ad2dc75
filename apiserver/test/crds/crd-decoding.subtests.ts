// Custom resources decode as on Kubernetes: the envelope (apiVersion, kind, metadata) is always allowed, nulls
// in non-nullable fields are dropped before defaulting, defaults apply on reads from storage too (status
// defaults, defaults added to a CRD later), `metadata.creationTimestamp: null` is accepted, and malformed CRDs
// get a Status, never a 500.

import t from 'tap';
import { stringify } from 'yaml';
import { request, startTestServer } from '@berth/testkit';
import { installCrd, pathOf, postJson, putJson, widget, widgetCrd, type Status } from './crd-fixture.js';

const crdsPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

t.test('custom resource decoding', async (t) => {
  const ts = await startTestServer();
  t.teardown(() => ts.close());

  t.test('a schema listing only spec and status accepts apiVersion, kind and metadata', async (t) => {
    await installCrd(
      ts,
      widgetCrd(
        {
          type: 'object',
          properties: {
            spec: { type: 'object', properties: { size: { type: 'integer' } } },
            status: { type: 'object' },
          },
        },
        {},
        'Plain',
      ),
    );
    const manifest = stringify(widget('p1', { size: 3 }, {}, 'Plain'));
    const applied = await ts.kubectl(['apply', '-f', '-'], { input: manifest });
    t.equal(applied.code, 0, applied.stderr);
    t.match(applied.stdout, /plain.tests.example.com\/p1 created/);
    const ssa = await ts.kubectl(['apply', '--server-side', '-f', '-'], {
      input: stringify(widget('p2', { size: 4 }, {}, 'Plain')),
    });
    t.equal(ssa.code, 0, ssa.stderr);
    const strict = await request(ts, 'POST', `${pathOf('Plain')}?fieldValidation=Strict`, {
      body: JSON.stringify(widget('p3', { size: 1, bogus: 1 }, {}, 'Plain')),
      contentType: 'application/json',
    });
    t.equal(strict.status, 400, 'a truly unknown field is still refused under Strict');
    t.match(strict.json<Status>().message, /unknown field "spec.bogus"/);
    t.notMatch(strict.json<Status>().message, /apiVersion|"kind"/);
  });

  t.test('nulls are pruned before defaulting; defaults apply on read, status included', async (t) => {
    const schema = {
      type: 'object' as const,
      properties: {
        spec: {
          type: 'object' as const,
          properties: {
            replicas: { type: 'integer' as const, default: 1 },
            mode: { type: 'string' as const, default: 'auto' },
            opt: { type: 'string' as const },
            keep: { type: 'string' as const, nullable: true },
            tags: { type: 'array' as const, items: { type: 'string' as const, default: 'x' } },
          },
        },
        status: {
          type: 'object' as const,
          default: {},
          properties: { phase: { type: 'string' as const, default: 'Pending' } },
        },
      },
    };
    await installCrd(ts, widgetCrd(schema, {}, 'Defaulted'));
    const res = await postJson(
      ts,
      pathOf('Defaulted'),
      widget('d1', { mode: null, opt: null, keep: null, tags: ['a', null] }, {}, 'Defaulted'),
    );
    t.equal(res.status, 201, res.text);
    const spec = res.json<{ spec: Record<string, unknown> }>().spec;
    t.same(
      spec,
      { replicas: 1, mode: 'auto', keep: null, tags: ['a', 'x'] },
      'null mode defaulted, null opt dropped, nullable keep kept',
    );
    const read = await request(ts, 'GET', `${pathOf('Defaulted')}/d1`);
    t.same(
      read.json<{ status?: unknown }>().status,
      { phase: 'Pending' },
      'status defaults appear on the object read back',
    );
    const list = await request(ts, 'GET', pathOf('Defaulted'));
    t.same(list.json<{ items: { status?: unknown }[] }>().items[0]?.status, { phase: 'Pending' }, 'and in lists');
    const table = await ts.kubectl(['get', 'defaulted', 'd1', '-o', 'jsonpath={.status.phase}']);
    t.equal(table.stdout, 'Pending');
    const watched = await request(ts, 'GET', `${pathOf('Defaulted')}?watch=true&resourceVersion=0&timeoutSeconds=1`);
    const first = JSON.parse(watched.text.split('\n')[0] ?? '{}') as { type?: string; object?: { status?: unknown } };
    t.same([first.type, first.object?.status], ['ADDED', { phase: 'Pending' }], 'and in watch events');

    // A default added to the CRD later shows on objects stored before it.
    const crd = (await request(ts, 'GET', `${crdsPath}/defaulteds.tests.example.com`)).json<{
      spec: { versions: { schema: { openAPIV3Schema: typeof schema } }[] };
    }>();
    const props = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties as Record<string, unknown>;
    props['color'] = { type: 'string', default: 'blue' };
    const updated = await putJson(ts, `${crdsPath}/defaulteds.tests.example.com`, crd);
    t.equal(updated.status, 200, updated.text);
    let color: unknown;
    for (let i = 0; i < 100 && color === undefined; i++) {
      color = (await request(ts, 'GET', `${pathOf('Defaulted')}/d1`)).json<{ spec: Record<string, unknown> }>().spec[
        'color'
      ];
      if (color === undefined) await new Promise((r) => setImmediate(r));
    }
    t.equal(color, 'blue', 'a later default is applied when the stored object is read');
    const relisted = await request(ts, 'GET', pathOf('Defaulted'));
    t.equal(
      relisted.json<{ items: { spec: Record<string, unknown> }[] }>().items[0]?.spec['color'],
      'blue',
      'and when it is listed (a list serves stored text only for objects that read back unchanged)',
    );
  });

  t.test('metadata.creationTimestamp: null, as kubectl --dry-run=client -o yaml writes it', async (t) => {
    const generated = await ts.kubectl([
      'create',
      'configmap',
      'cm1',
      '--from-literal=a=b',
      '--dry-run=client',
      '-o',
      'yaml',
    ]);
    t.match(generated.stdout, /creationTimestamp: null/);
    const applied = await ts.kubectl(['apply', '-f', '-'], { input: generated.stdout });
    t.equal(applied.code, 0, applied.stderr);
    const ssa = await ts.kubectl(['apply', '--server-side', '-f', '-'], {
      input: generated.stdout.replace('cm1', 'cm2'),
    });
    t.equal(ssa.code, 0, ssa.stderr);
    const cr = await postJson(ts, pathOf('Plain'), {
      ...widget('p9', { size: 1 }, {}, 'Plain'),
      metadata: { name: 'p9', creationTimestamp: null },
    });
    t.equal(cr.status, 201, cr.text);
    t.match(cr.json<{ metadata: { creationTimestamp: string } }>().metadata.creationTimestamp, /^\d{4}-/);
  });

  t.test('malformed CRDs get a Status, never a 500', async (t) => {
    const base = widgetCrd({ type: 'object' }, {}, 'Broken');
    const spec = base['spec'] as Record<string, unknown>;
    const cases: [string, unknown][] = [
      ['spec a string', { ...base, spec: 'nonsense' }],
      ['spec missing', { ...base, spec: undefined }],
      ['names missing', { ...base, spec: { ...spec, names: undefined } }],
      ['names a string', { ...base, spec: { ...spec, names: 'x' } }],
      ['versions a string', { ...base, spec: { ...spec, versions: 'v1' } }],
      ['a version a string', { ...base, spec: { ...spec, versions: ['v1'] } }],
      [
        'schema a string',
        { ...base, spec: { ...spec, versions: [{ name: 'v1', served: true, storage: true, schema: 'x' }] } },
      ],
      [
        'properties a string',
        {
          ...base,
          spec: {
            ...spec,
            versions: [
              {
                name: 'v1',
                served: true,
                storage: true,
                schema: { openAPIV3Schema: { type: 'object', properties: 'x' } },
              },
            ],
          },
        },
      ],
      ['kind a number', { ...base, spec: { ...spec, names: { plural: 'brokens', kind: 7 } } }],
    ];
    for (const [what, body] of cases) {
      const res = await postJson(ts, crdsPath, body);
      t.ok(res.status === 400 || res.status === 422, `${what}: ${res.status} ${res.text.slice(0, 300)}`);
      t.equal(res.json<Status>().kind, 'Status', what);
    }
    const missingNames = await postJson(ts, crdsPath, { ...base, spec: { ...spec, names: undefined } });
    t.ok(
      missingNames.json<Status>().details?.causes?.some((c) => c.field?.startsWith('spec.names')),
      'names missing is named',
    );
    const ready = await request(ts, 'GET', '/readyz');
    t.equal(ready.status, 200);
  });

  t.test('a CRD whose defaults do not validate is refused', async (t) => {
    const res = await postJson(
      ts,
      crdsPath,
      widgetCrd(
        {
          type: 'object',
          properties: {
            spec: {
              type: 'object',
              properties: {
                replicas: { type: 'integer', default: 'three' },
                mode: { type: 'string', enum: ['a', 'b'], default: 'c' },
                limits: { type: 'object', properties: { cpu: { type: 'string' } }, default: { cpu: '1', gpu: '2' } },
              },
            },
          },
        },
        {},
        'BadDefault',
      ),
    );
    t.equal(res.status, 422, res.text.slice(0, 300));
    const s = res.json<Status>();
    const at = 'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties';
    for (const line of [
      `${at}[replicas].default: Invalid value: "string": ${at}[replicas].default in body must be of type integer: "string"`,
      `${at}[mode].default: Unsupported value: "c": supported values: "a", "b"`,
      `${at}[limits].default: Invalid value: {"cpu":"1","gpu":"2"}: must not have unknown fields`,
    ]) {
      t.ok(s.message.includes(line), `${line}\n${s.message}`);
    }
  });

  t.test('a schema that is not structural is refused in Kubernetes words', async (t) => {
    const res = await postJson(
      ts,
      crdsPath,
      widgetCrd(
        {
          type: 'object',
          properties: {
            metadata: { type: 'object', properties: { labels: { type: 'object' } } },
            spec: {
              type: 'object',
              properties: {
                untyped: { description: 'no type' },
                list: { type: 'array' },
                port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
                either: { type: 'string', anyOf: [{ type: 'string', maxLength: 3 }, { pattern: '^x' }] },
              },
            },
          },
        },
        {},
        'Unstructured',
      ),
    );
    t.equal(res.status, 422, res.text.slice(0, 300));
    const s = res.json<Status>();
    const at = 'spec.versions[0].schema.openAPIV3Schema';
    for (const line of [
      `${at}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified`,
      `${at}.properties[spec].properties[untyped].type: Required value: must not be empty for specified object fields`,
      `${at}.properties[spec].properties[list].items: Required value: must be specified`,
      `${at}.properties[spec].properties[either].anyOf[0].type: Forbidden: must be empty to be structural`,
    ]) {
      t.ok(s.message.includes(line), line);
    }
    t.notMatch(s.message, /properties\[port\]/, 'int-or-string with its anyOf pattern is structural');
    t.equal(s.details?.causes?.length, 4, s.message);
  });
});
