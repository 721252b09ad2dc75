// Schema violations are worded as the Kubernetes 1.32 API server words them (kube-openapi's messages, turned
// into field errors by apiextensions), since scripts and users grep them: one message per field, int-or-string
// included.

import t from 'tap';
import { startTestServer } from '@berth/testkit';
import { installCrd, pathOf, postJson, widget, widgetCrd, type Status } from './crd-fixture.js';

t.test('schema errors in Kubernetes words', async (t) => {
  const ts = await startTestServer();
  t.teardown(() => ts.close());
  await installCrd(
    ts,
    widgetCrd(
      {
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            required: ['image'],
            properties: {
              image: { type: 'string' },
              replicas: { type: 'integer' },
              port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
              name: { type: 'string', pattern: '^[a-z]+$' },
              mode: { type: 'string', enum: ['a', 'b'] },
              level: { type: 'integer', enum: [1, 2] },
              short: { type: 'string', maxLength: 2 },
              list: { type: 'array', maxItems: 2, items: { type: 'string' } },
              min: { type: 'integer', minimum: 1 },
              below: { type: 'number', maximum: 10, exclusiveMaximum: true },
              when: { type: 'string', format: 'date-time' },
              every: { type: 'string', format: 'duration' },
              expr: { type: 'string', format: 'regex' },
              count: { type: 'integer', format: 'int32' },
              tags: { type: 'array', 'x-kubernetes-list-type': 'set', items: { type: 'string' } },
              ports: {
                type: 'array',
                'x-kubernetes-list-type': 'map',
                'x-kubernetes-list-map-keys': ['name'],
                items: { type: 'object', properties: { name: { type: 'string' }, port: { type: 'integer' } } },
              },
            },
          },
        },
      },
      {},
      'Strict',
    ),
  );
  const res = await postJson(
    ts,
    pathOf('Strict'),
    widget(
      'bad',
      {
        replicas: 'three',
        port: true,
        name: 'ABC',
        mode: 'x',
        level: 3,
        short: 'abc',
        list: ['a', 'b', 'c'],
        min: 0,
        below: 10,
        when: 'yesterday',
        every: 'soon',
        tags: ['a', 'b', 'a', 'a'],
        ports: [
          { name: 'http', port: 80 },
          { name: 'http', port: 81 },
        ],
      },
      {},
      'Strict',
    ),
  );
  t.equal(res.status, 422, res.text);
  const s = res.json<Status>();
  const expected = [
    'spec.image: Required value',
    'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    'spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean"',
    'spec.name: Invalid value: "ABC": spec.name in body should match \'^[a-z]+$\'',
    'spec.mode: Unsupported value: "x": supported values: "a", "b"',
    'spec.level: Unsupported value: 3: supported values: "1", "2"',
    'spec.short: Too long: may not be more than 2 bytes',
    'spec.list: Too many: 3: must have at most 2 items',
    'spec.min: Invalid value: 0: spec.min in body should be greater than or equal to 1',
    'spec.below: Invalid value: 10: spec.below in body should be less than 10',
    'spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"',
    'spec.every: Invalid value: "soon": spec.every in body must be of type duration: "soon"',
    'spec.tags[2]: Duplicate value: "a"',
    'spec.ports[1]: Duplicate value: map[string]interface {}{"name":"http"}',
  ];
  for (const line of expected) t.ok(s.message.includes(line), line);
  t.equal(s.details?.causes?.filter((c) => c.field === 'spec.port').length, 1, 'one message for int-or-string');
  t.equal(s.details?.causes?.length, expected.length, `exactly these causes: ${s.message}`);
  t.same(
    s.details?.causes?.find((c) => c.field === 'spec.mode'),
    {
      reason: 'FieldValueNotSupported',
      message: 'Unsupported value: "x": supported values: "a", "b"',
      field: 'spec.mode',
    },
  );
  t.match(s.message, /^Strict.tests.example.com "bad" is invalid: \[/);

  // kubectl shows the same words.
  const k = await ts.kubectl(['create', '-f', '-'], {
    input: JSON.stringify(widget('bad2', { image: 'x', replicas: 'three' }, {}, 'Strict')),
  });
  t.equal(k.code, 1);
  t.match(
    k.stderr,
    'The Strict "bad2" is invalid: spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
  );
  // Formats are Kubernetes': Go durations, no check of regex or int32 (documentation only there).
  const ok = await postJson(
    ts,
    pathOf('Strict'),
    widget(
      'good',
      {
        image: 'x',
        port: 'http',
        below: 9.5,
        when: '2024-01-01T00:00:00Z',
        every: '1h30m',
        expr: '(?i)^web$',
        count: 3_000_000_000,
      },
      {},
      'Strict',
    ),
  );
  t.equal(ok.status, 201, ok.text);
  const days = await postJson(
    ts,
    pathOf('Strict'),
    widget('days', { image: 'x', every: '3 days', when: '2024-01-01T00:00:00+0100' }, {}, 'Strict'),
  );
  t.equal(days.status, 201, days.text);
});
