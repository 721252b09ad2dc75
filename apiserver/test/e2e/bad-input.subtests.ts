// Bad input gets a clear Kubernetes Status with the right code, reason and field, and changes nothing.

import t, { type Test } from 'tap';
import { request, startTestServer, type RawResponse, type TestServer } from '@berth/testkit';

const path = '/apis/berth.dev/v1alpha1/namespaces/default/containers';
const good = (name = 'web', extra: Record<string, unknown> = {}) => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Container',
  metadata: { name, namespace: 'default' },
  spec: { image: 'busybox' },
  ...extra,
});

interface Status {
  kind: string;
  code: number;
  reason: string;
  message: string;
  details?: { causes?: { field?: string; reason?: string }[] };
}

const post = (ts: TestServer, body: unknown, query = '', p = path) =>
  request(ts, 'POST', `${p}${query}`, {
    body: typeof body === 'string' ? body : JSON.stringify(body),
    contentType: 'application/json',
  });

function expectStatus(t: Test, res: RawResponse, code: number, reason: string, field?: string): Status {
  t.equal(res.status, code, `HTTP ${code}: ${res.text.slice(0, 300)}`);
  const s = res.json<Status>();
  t.equal(s.kind, 'Status');
  t.equal(s.code, code);
  t.equal(s.reason, reason);
  if (field !== undefined)
    t.ok(
      s.details?.causes?.some((c) => c.field === field),
      `a cause names ${field}`,
    );
  return s;
}

t.test('bad input', async (t) => {
  const ts = await startTestServer();
  t.teardown(() => ts.close());
  const countContainers = async () => (await request(ts, 'GET', path)).json<{ items: unknown[] }>().items.length;

  t.test('names and labels', async (t) => {
    const s = expectStatus(t, await post(ts, good('Bad_Name')), 422, 'Invalid', 'metadata.name');
    t.match(
      s.message,
      /Container.berth.dev "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/,
    );
    expectStatus(
      t,
      await post(ts, { ...good('x'), metadata: { name: 'x', labels: { 'bad key!': 'v' } } }),
      422,
      'Invalid',
      'metadata.labels',
    );
    expectStatus(
      t,
      await post(ts, { ...good('x'), metadata: { name: 'x', labels: { ok: 'bad value!' } } }),
      422,
      'Invalid',
      'metadata.labels',
    );
    expectStatus(
      t,
      await request(ts, 'GET', `${path}?labelSelector=${encodeURIComponent('a in (b')}`),
      400,
      'BadRequest',
    );
    expectStatus(t, await request(ts, 'GET', `${path}?fieldSelector=spec.bogus%3Dx`), 400, 'BadRequest');
  });

  t.test('unknown and mistyped fields, fieldValidation', async (t) => {
    const bogus = { ...good('f'), spec: { image: 'busybox', bogus: 1 } };
    const strict = expectStatus(t, await post(ts, bogus, '?fieldValidation=Strict'), 400, 'BadRequest');
    t.match(strict.message, /strict decoding error: unknown field "spec.bogus"/);
    const warn = await post(ts, bogus, '?fieldValidation=Warn');
    t.equal(warn.status, 201);
    t.match(String(warn.headers['warning']), /unknown field \\"spec.bogus\\"/);
    t.equal(warn.json<{ spec: Record<string, unknown> }>().spec['bogus'], undefined, 'the unknown field is dropped');
    const ignore = await post(ts, { ...bogus, metadata: { name: 'g' } }, '?fieldValidation=Ignore');
    t.equal(ignore.status, 201);
    t.equal(ignore.headers['warning'], undefined);
    expectStatus(t, await post(ts, { ...good('h'), spec: { image: 5 } }), 422, 'Invalid', 'spec.image');
    expectStatus(t, await post(ts, { ...good('h'), spec: {} }), 422, 'Invalid', 'spec.image');
    expectStatus(
      t,
      await post(ts, { ...good('h'), spec: { image: 'b', restartPolicy: 'Sometimes' } }),
      422,
      'Invalid',
      'spec.restartPolicy',
    );
  });

  t.test('envelope: apiVersion, kind, namespace', async (t) => {
    expectStatus(t, await post(ts, { ...good('e'), apiVersion: 'berth.dev/v9' }), 400, 'BadRequest');
    expectStatus(t, await post(ts, { ...good('e'), kind: 'Service' }), 400, 'BadRequest');
    expectStatus(t, await post(ts, { ...good('e'), metadata: { name: 'e', namespace: 'other' } }), 400, 'BadRequest');
  });

  t.test('bodies: too large, malformed JSON and YAML, empty', async (t) => {
    const huge = { ...good('big'), metadata: { name: 'big', annotations: { a: 'x'.repeat(3 * 1024 * 1024 + 10) } } };
    expectStatus(t, await post(ts, huge), 413, 'RequestEntityTooLarge');
    expectStatus(t, await post(ts, '{"apiVersion": '), 400, 'BadRequest');
    expectStatus(t, await post(ts, ''), 400, 'BadRequest');
    const yaml = await request(ts, 'PATCH', `${path}/y?fieldManager=me`, {
      body: 'a: [b\n',
      contentType: 'application/apply-patch+yaml',
    });
    expectStatus(t, yaml, 400, 'BadRequest');
    const badPatch = await request(ts, 'PATCH', `${path}/f`, {
      body: '[{"op":"replace","path":"/spec/nope/x","value":1}]',
      contentType: 'application/json-patch+json',
    });
    t.ok(badPatch.status === 422 || badPatch.status === 404, `failed JSON patch: ${badPatch.status}`);
    const noManager = await request(ts, 'PATCH', `${path}/f`, {
      body: JSON.stringify(good('f')),
      contentType: 'application/apply-patch+yaml',
    });
    expectStatus(t, noManager, 422, 'Invalid');
    const weirdType = await request(ts, 'PATCH', `${path}/f`, { body: '{}', contentType: 'text/plain' });
    expectStatus(t, weirdType, 415, 'UnsupportedMediaType');
  });

  t.test('missing things: resource, object, namespace', async (t) => {
    expectStatus(t, await request(ts, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/gadgets'), 404, 'NotFound');
    const missing = expectStatus(t, await request(ts, 'GET', `${path}/nothere`), 404, 'NotFound');
    t.equal(missing.message, 'containers.berth.dev "nothere" not found');
    const noNs = expectStatus(
      t,
      await post(
        ts,
        { ...good('n'), metadata: { name: 'n', namespace: 'nowhere' } },
        '',
        '/apis/berth.dev/v1alpha1/namespaces/nowhere/containers',
      ),
      404,
      'NotFound',
    );
    t.equal(noNs.message, 'namespaces "nowhere" not found');
  });

  t.test('optimistic concurrency', async (t) => {
    const putImage = (resourceVersion: string, image: string) =>
      request(ts, 'PUT', `${path}/occ`, {
        body: JSON.stringify({ ...good('occ'), metadata: { name: 'occ', resourceVersion }, spec: { image } }),
        contentType: 'application/json',
      });
    type Stored = { metadata: { resourceVersion: string } };
    const created = (await post(ts, good('occ'))).json<Stored>();
    // The scheduler may write the new Container's status first; like any client, re-read and retry on a conflict.
    let first = await putImage(created.metadata.resourceVersion, 'one');
    for (let tries = 0; first.status === 409 && tries < 5; tries++) {
      const latest = (await request(ts, 'GET', `${path}/occ`)).json<Stored>();
      first = await putImage(latest.metadata.resourceVersion, 'one');
    }
    t.equal(first.status, 200);
    const stale = await putImage(created.metadata.resourceVersion, 'two');
    const s = expectStatus(t, stale, 409, 'Conflict');
    t.equal(
      s.message,
      'Operation cannot be fulfilled on containers.berth.dev "occ": the object has been modified; please apply your changes to the latest version and try again',
    );
    expectStatus(t, await post(ts, good('occ')), 409, 'AlreadyExists');
  });

  t.test('terminating namespace refuses new content', async (t) => {
    await post(ts, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dying' } }, '', '/api/v1/namespaces');
    await post(
      ts,
      { ...good('holder'), metadata: { name: 'holder', namespace: 'dying', finalizers: ['berth.dev/hold'] } },
      '',
      '/apis/berth.dev/v1alpha1/namespaces/dying/containers',
    );
    const del = await request(ts, 'DELETE', '/api/v1/namespaces/dying');
    t.equal(del.status, 200);
    const s = expectStatus(
      t,
      await post(
        ts,
        { ...good('late'), metadata: { name: 'late', namespace: 'dying' } },
        '',
        '/apis/berth.dev/v1alpha1/namespaces/dying/containers',
      ),
      403,
      'Forbidden',
    );
    t.match(s.message, /being terminated/);
    await request(ts, 'PATCH', '/apis/berth.dev/v1alpha1/namespaces/dying/containers/holder', {
      body: '{"metadata":{"finalizers":null}}',
      contentType: 'application/merge-patch+json',
    });
  });

  t.test('authentication', async (t) => {
    expectStatus(t, await request(ts, 'GET', path, { token: '' }), 401, 'Unauthorized');
    expectStatus(t, await request(ts, 'GET', path, { token: 'wrong' }), 401, 'Unauthorized');
    t.equal((await request(ts, 'GET', '/version', { token: '' })).status, 200, '/version is public');
  });

  t.test('mistyped metadata is a 4xx Status on create, update, patch and apply, never a 500', async (t) => {
    const metas: unknown[] = [
      [],
      { name: 5 },
      { name: 'm', labels: 5 },
      { name: 'm', labels: { a: 5 } },
      { name: 'm', annotations: 'x' },
      { name: 'm', finalizers: 'x' },
      { name: 'm', finalizers: [5] },
      { name: 'm', ownerReferences: 'x' },
      { name: 'm', ownerReferences: [5] },
      { name: 'm', generateName: 5 },
      { name: 'm', managedFields: 'x' },
      { name: 'm', resourceVersion: 5 },
    ];
    await post(ts, good('m'));
    for (const metadata of metas) {
      const body = JSON.stringify({ ...good('m'), metadata });
      for (const [method, p, type] of [
        ['POST', path, 'application/json'],
        ['PUT', `${path}/m`, 'application/json'],
        ['PATCH', `${path}/m`, 'application/merge-patch+json'],
        ['PATCH', `${path}/m?fieldManager=fuzz`, 'application/apply-patch+yaml'],
      ] as const) {
        const r = await request(ts, method, p, { body, contentType: type });
        t.ok(
          r.status >= 400 && r.status < 500 && r.json<Status>().kind === 'Status',
          `${method} ${type} metadata=${JSON.stringify(metadata)} -> ${r.status}`,
        );
      }
    }
    await request(ts, 'DELETE', `${path}/m`);
  });

  t.test('paths, headers, CRDs and watches a client can get wrong', async (t) => {
    expectStatus(
      t,
      await request(ts, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/containers/%E0%A4%A'),
      400,
      'BadRequest',
    );
    expectStatus(
      t,
      await request(ts, 'GET', '/apis/berth.dev/v1alpha1/namespaces/default/containers/a%2Fb'),
      400,
      'BadRequest',
    );
    const warned = await post(ts, { ...good('warn-utf8'), spec: { image: 'busybox', 中: 1 } }, '?fieldValidation=Warn');
    t.equal(warned.status, 201, 'a non-ASCII unknown field still gets its warning, not a 500');
    t.match(String(warned.headers['warning']), /unknown field \\"spec\.\\u4e2d\\"/);
    const hijack = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'leases.coordination.k8s.io' },
      spec: {
        group: 'coordination.k8s.io',
        names: { plural: 'leases', kind: 'Lease' },
        scope: 'Namespaced',
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object' } } }],
      },
    };
    expectStatus(
      t,
      await post(ts, hijack, '', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions'),
      422,
      'Invalid',
      'spec.group',
    );
    const future = await request(ts, 'GET', `${path}?watch=true&resourceVersion=99999999`);
    expectStatus(t, future, 504, 'Timeout');
    expectStatus(
      t,
      await request(ts, 'PUT', path, { body: JSON.stringify(good('x')), contentType: 'application/json' }),
      405,
      'MethodNotAllowed',
    );
    await request(ts, 'DELETE', `${path}/warn-utf8`);
  });

  t.test('nothing was written by the failures', async (t) => {
    const names = (await request(ts, 'GET', path))
      .json<{ items: { metadata: { name: string } }[] }>()
      .items.map((i) => i.metadata.name)
      .sort();
    t.same(names, ['f', 'g', 'occ']);
    t.equal(await countContainers(), 3);
  });
});
