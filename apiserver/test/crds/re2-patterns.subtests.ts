// Schema patterns are RE2 as in Kubernetes: a catastrophic-backtracking pattern answers promptly and stalls
// nobody else, Go syntax such as (?i) works, and a CRD whose pattern is not a Go regexp is refused.

import t from 'tap';
import { request, startTestServer } from '@berth/testkit';
import { installCrd, pathOf, postJson, widget, widgetCrd, widgetsPath, type Status } from './crd-fixture.js';

t.test('patterns run on RE2', async (t) => {
  const ts = await startTestServer();
  t.teardown(() => ts.close());
  await installCrd(
    ts,
    widgetCrd({
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          properties: { name: { type: 'string', pattern: '^(a+)+$' } },
        },
      },
    }),
  );
  await installCrd(
    ts,
    widgetCrd(
      {
        type: 'object',
        properties: { spec: { type: 'object', properties: { code: { type: 'string', pattern: '(?i)^abc$' } } } },
      },
      {},
      'Gizmo',
    ),
  );

  t.test('a catastrophic pattern answers promptly and /readyz stays responsive', async (t) => {
    const started = Date.now();
    const create = postJson(ts, widgetsPath, widget('evil', { name: `${'a'.repeat(31)}!` }));
    const readyStarted = Date.now();
    const ready = await request(ts, 'GET', '/readyz');
    const readyMs = Date.now() - readyStarted;
    const res = await create;
    const ms = Date.now() - started;
    t.equal(res.status, 422, res.text);
    t.equal(ready.status, 200);
    // A backtracking engine would take minutes on this input; seconds on a loaded machine still tell them apart.
    t.ok(ms < 10_000, `answered in ${ms} ms`);
    t.ok(readyMs < 10_000, `/readyz answered in ${readyMs} ms`);
    t.comment(`catastrophic pattern request: ${ms} ms`);
    const long = await postJson(ts, widgetsPath, widget('evil2', { name: `${'a'.repeat(100_000)}!` }));
    t.equal(long.status, 422, 'a 100k-character value is refused too');
  });

  t.test('Go syntax (?i) is valid', async (t) => {
    const res = await postJson(ts, pathOf('Gizmo'), widget('upper', { code: 'ABC' }, {}, 'Gizmo'));
    t.equal(res.status, 201, res.text);
    const bad = await postJson(ts, pathOf('Gizmo'), widget('other', { code: 'abd' }, {}, 'Gizmo'));
    t.equal(bad.status, 422, bad.text);
  });

  t.test('a CRD whose pattern is not a Go regexp is refused', async (t) => {
    const crd = widgetCrd(
      {
        type: 'object',
        properties: {
          spec: {
            type: 'object',
            properties: { foo: { type: 'string', pattern: '+' }, bar: { type: 'string', pattern: '(?=x)' } },
          },
        },
      },
      {},
      'Gadget',
    );
    const res = await postJson(ts, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    t.equal(res.status, 422, res.text);
    const s = res.json<Status>();
    t.equal(s.reason, 'Invalid');
    t.match(
      s.message,
      'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[foo].pattern: Invalid value: "+": must be a valid regular expression, but isn\'t: error parsing regexp: missing argument to repetition operator: `+`',
    );
    t.match(
      s.message,
      'properties[bar].pattern: Invalid value: "(?=x)": must be a valid regular expression, but isn\'t: error parsing regexp: invalid or unsupported Perl syntax: `(?=`',
    );
    t.ok(
      s.details?.causes?.some(
        (c) => c.field === 'spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[foo].pattern',
      ),
    );
  });
});
