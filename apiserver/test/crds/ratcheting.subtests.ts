// Validation ratcheting, on by default in Kubernetes 1.32: after a CRD tightens its schema or adds a rule, an
// existing object that breaks the new rules can still be updated as long as the offending values stay as
// they were (a rule failing on an unchanged value warns); changing them to another invalid value is refused.

import t from 'tap';
import { request, startTestServer } from '@berth/testkit';
import { installCrd, pathOf, postJson, putJson, widget, widgetCrd, type Status } from './crd-fixture.js';

const crdPath = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/ratchets.tests.example.com';

t.test('ratcheting of schema errors and CEL rules on unchanged values', async (t) => {
  const ts = await startTestServer();
  t.teardown(() => ts.close());
  const loose = {
    type: 'object' as const,
    properties: {
      spec: {
        type: 'object' as const,
        properties: {
          name: { type: 'string' as const },
          tags: { type: 'array' as const, items: { type: 'string' as const } },
          note: { type: 'string' as const },
        },
      },
    },
  };
  await installCrd(ts, widgetCrd(loose, {}, 'Ratchet'));
  const created = await postJson(
    ts,
    pathOf('Ratchet'),
    widget('old', { name: 'much-too-long', tags: ['a', 'b', 'c'], note: 'x' }, {}, 'Ratchet'),
  );
  t.equal(created.status, 201, created.text);

  const crd = (await request(ts, 'GET', crdPath)).json<{
    spec: { versions: { schema: { openAPIV3Schema: typeof loose } }[] };
  }>();
  const props = crd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec.properties as Record<
    string,
    Record<string, unknown>
  >;
  props['name'] = { type: 'string', maxLength: 5 };
  props['tags'] = {
    type: 'array',
    items: { type: 'string' },
    'x-kubernetes-validations': [{ rule: 'self.size() <= 2', message: 'at most two tags' }],
  };
  const tightened = await putJson(ts, crdPath, crd);
  t.equal(tightened.status, 200, tightened.text);

  const path = `${pathOf('Ratchet')}/old`;
  let current = (await request(ts, 'GET', path)).json<{ spec: Record<string, unknown> }>();
  let ok = await putJson(ts, path, { ...current, spec: { ...current.spec, note: 'y' } });
  for (let i = 0; i < 50 && ok.status === 200 && ok.headers['warning'] === undefined; i++) {
    // The tightened CRD is served within milliseconds; until then there is nothing to ratchet.
    current = (await request(ts, 'GET', path)).json<{ spec: Record<string, unknown> }>();
    ok = await putJson(ts, path, { ...current, spec: { ...current.spec, note: `y${i}` } });
  }
  t.equal(ok.status, 200, `an update leaving the invalid values alone is accepted: ${ok.text.slice(0, 300)}`);
  t.match(
    String(ok.headers['warning']),
    /spec.tags: Invalid value: \\?"array\\?": at most two tags/,
    'the unchanged rule failure warns',
  );

  current = (await request(ts, 'GET', path)).json<{ spec: Record<string, unknown> }>();
  const refused = await putJson(ts, path, {
    ...current,
    spec: { ...current.spec, name: 'still-too-long', tags: ['a', 'b', 'c', 'd'] },
  });
  t.equal(refused.status, 422, refused.text);
  const s = refused.json<Status>();
  t.match(s.message, 'spec.name: Too long: may not be more than 5 bytes');
  t.match(s.message, 'spec.tags: Invalid value: "array": at most two tags');

  const fresh = await postJson(ts, pathOf('Ratchet'), widget('new', { name: 'much-too-long' }, {}, 'Ratchet'));
  t.equal(fresh.status, 422, 'a new object gets no ratcheting');
});
