// The API surface beyond the kubectl walk-through: CRD lifecycle timing, discovery and OpenAPI formats,
// subresources, selectable fields, deletecollection, Secret canonicalization and Event expiry; the
// `drop=metadata.managedFields` Accept parameter (KEP-5958) on every verb and on watches.

import t from 'tap';
import { eventually, request, startTestServer } from '@berth/testkit';

const json = (body: unknown) => ({ body: JSON.stringify(body), contentType: 'application/json' });

t.test('API surface', async (t) => {
  // The Containers this test counts are the ones it creates: no service controller making replicas beside them.
  const ts = await startTestServer({ controllers: ['*', '-service'] });
  t.teardown(() => ts.close());

  t.test('health, version, discovery and OpenAPI documents', async (t) => {
    t.equal((await request(ts, 'GET', '/livez', { token: '' })).text, 'ok');
    t.equal((await request(ts, 'GET', '/readyz', { token: '' })).status, 200);
    t.match((await request(ts, 'GET', '/version')).json(), { major: '1', minor: '32' });
    const agg = await request(ts, 'GET', '/apis', {
      accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json',
    });
    t.match(String(agg.headers['content-type']), /g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList/);
    t.ok(agg.json<{ items: { metadata: { name: string } }[] }>().items.some((g) => g.metadata.name === 'berth.dev'));
    const legacy = await request(ts, 'GET', '/apis');
    t.equal(legacy.json<{ kind: string }>().kind, 'APIGroupList');
    const core = await request(ts, 'GET', '/api/v1');
    t.ok(core.json<{ resources: { name: string }[] }>().resources.some((r) => r.name === 'namespaces/status'));
    const gv = await request(ts, 'GET', '/apis/berth.dev/v1alpha1');
    const names = gv.json<{ resources: { name: string }[] }>().resources.map((r) => r.name);
    t.ok(names.includes('services/scale') && names.includes('containers/status') && names.includes('containers/log'));
    const index = (await request(ts, 'GET', '/openapi/v3')).json<{
      paths: Record<string, { serverRelativeURL: string }>;
    }>();
    const url = index.paths['apis/berth.dev/v1alpha1']!.serverRelativeURL;
    const doc = (await request(ts, 'GET', url)).json<{ components: { schemas: Record<string, unknown> } }>();
    t.ok(doc.components.schemas['dev.berth.v1alpha1.Container'], 'Container schema published');
    t.equal((await request(ts, 'GET', '/openapi/v2')).status, 200);
  });

  t.test('a CRD is served within a second of its creation and gone with its objects when deleted', async (t) => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: { spec: { type: 'object', properties: { size: { type: 'integer', default: 3 } } } },
              },
            },
          },
        ],
      },
    };
    const created = await request(ts, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', json(crd));
    t.equal(created.status, 201);
    // Within seconds, not at once: how soon is bench/'s to measure; a loaded test machine can take over 1 s.
    t.ok(
      await eventually(async () => (await request(ts, 'GET', '/apis/example.com/v1')).status === 200, 10_000),
      'served within seconds',
    );
    const established = (
      await request(ts, 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com')
    ).json<{ status: { conditions: { type: string; status: string }[] } }>();
    t.ok(established.status.conditions.some((c) => c.type === 'Established' && c.status === 'True'));
    const w = await request(
      ts,
      'POST',
      '/apis/example.com/v1/namespaces/default/widgets',
      json({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1' }, spec: {} }),
    );
    t.equal(w.json<{ spec: { size: number } }>().spec.size, 3, 'schema default applied');
    t.equal(
      (await request(ts, 'DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com'))
        .status,
      200,
    );
    t.ok(
      await eventually(async () => (await request(ts, 'GET', '/apis/example.com/v1')).status === 404, 10_000),
      'no longer served',
    );
    t.ok(
      await eventually(
        async () =>
          (await request(ts, 'GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com'))
            .status === 404,
        2000,
      ),
      'CRD gone',
    );
    // Recreated, the kind starts empty: its old objects were deleted with it.
    await request(ts, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', json(crd));
    t.ok(
      await eventually(
        async () => (await request(ts, 'GET', '/apis/example.com/v1/namespaces/default/widgets')).status === 200,
        1000,
      ),
    );
    t.same(
      (await request(ts, 'GET', '/apis/example.com/v1/namespaces/default/widgets')).json<{ items: unknown[] }>().items,
      [],
    );
  });

  t.test('status and scale subresources, generation', async (t) => {
    const base = '/apis/berth.dev/v1alpha1/namespaces/default/services';
    const svc = {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 's' } },
        template: { metadata: { labels: { app: 's' } }, spec: { image: 'busybox' } },
      },
      status: { replicas: 99 },
    };
    const created = (await request(ts, 'POST', base, json(svc))).json<{
      status?: unknown;
      metadata: { generation: number };
    }>();
    t.equal(created.status, undefined, 'create ignores status');
    t.equal(created.metadata.generation, 1);
    const st = await request(ts, 'PATCH', `${base}/s/status`, {
      body: '{"status":{"replicas":2},"spec":{"replicas":7}}',
      contentType: 'application/merge-patch+json',
    });
    const afterStatus = st.json<{
      spec: { replicas: number };
      status: { replicas: number };
      metadata: { generation: number };
    }>();
    t.equal(afterStatus.status.replicas, 2);
    t.equal(afterStatus.spec.replicas, 2, '/status writes only status');
    t.equal(afterStatus.metadata.generation, 1, 'status writes do not bump generation');
    const scale = (await request(ts, 'GET', `${base}/s/scale`)).json<{
      kind: string;
      spec: { replicas: number };
      status: { replicas: number };
    }>();
    t.match(scale, { kind: 'Scale', spec: { replicas: 2 }, status: { replicas: 2 } });
    const scaled = await request(ts, 'PATCH', `${base}/s/scale`, {
      body: '{"spec":{"replicas":5}}',
      contentType: 'application/merge-patch+json',
    });
    t.equal(scaled.status, 200);
    const after = (await request(ts, 'GET', `${base}/s`)).json<{
      spec: { replicas: number };
      metadata: { generation: number };
    }>();
    t.equal(after.spec.replicas, 5);
    t.equal(after.metadata.generation, 2);
    const jsonPatched = await request(ts, 'PATCH', `${base}/s/scale`, {
      body: '[{"op":"replace","path":"/spec/replicas","value":3}]',
      contentType: 'application/json-patch+json',
    });
    t.equal(jsonPatched.json<{ spec: { replicas: number } }>().spec.replicas, 3, 'JSON patch of /scale');
    const applied = await request(ts, 'PATCH', `${base}/s/scale?fieldManager=hpa`, {
      body: '{"apiVersion":"autoscaling/v1","kind":"Scale","spec":{"replicas":4}}',
      contentType: 'application/apply-patch+yaml',
    });
    t.equal(applied.json<{ spec: { replicas: number } }>().spec.replicas, 4, 'apply of /scale');
  });

  t.test(
    'a create answers the object as stored: defaults, managedFields; drop=managedFields still drops',
    async (t) => {
      // Its own namespace: the Containers of the next test are counted across default.
      const ns = await request(ts, 'POST', '/api/v1/namespaces', json({ metadata: { name: 'answers' } }));
      t.equal(ns.status, 201);
      const base = '/apis/berth.dev/v1alpha1/namespaces/answers/containers';
      const body = (name: string) =>
        json({
          apiVersion: 'berth.dev/v1alpha1',
          kind: 'Container',
          metadata: { name },
          spec: { image: 'busybox', nodeName: 'answer-node', ports: [{ containerPort: 80 }] },
        });
      type Answer = {
        metadata: { resourceVersion: string; uid: string; managedFields?: unknown[] };
        spec: { restartPolicy: string; ports: { protocol: string }[] };
      };
      const created = await request(ts, 'POST', base, body('answer-a'));
      t.equal(created.status, 201);
      const answer = created.json<Answer>();
      t.equal(answer.spec.restartPolicy, 'Always', 'a schema default is in the answer');
      t.equal(answer.spec.ports[0]?.protocol, 'TCP', 'a default inside a list item too');
      t.equal(answer.metadata.managedFields?.length, 1, 'the create is recorded in managedFields');
      const read = (await request(ts, 'GET', `${base}/answer-a`)).json<Answer>();
      t.same(read.spec, answer.spec, 'the answer is what a read returns');
      t.same(read.metadata.managedFields, answer.metadata.managedFields);
      t.equal(read.metadata.uid, answer.metadata.uid);
      const dropped = await request(ts, 'POST', base, {
        ...body('answer-b'),
        accept: 'application/json;drop=metadata.managedFields',
      });
      t.equal(dropped.status, 201);
      t.equal(dropped.json<Answer>().metadata.managedFields, undefined, 'dropped on request');
      t.equal(dropped.json<Answer>().spec.restartPolicy, 'Always');
    },
  );

  t.test('selectable fields, deletecollection', async (t) => {
    const base = '/apis/berth.dev/v1alpha1/namespaces/default/containers';
    for (const [name, node] of [
      ['c1', 'n1'],
      ['c2', 'n2'],
      ['c3', 'n1'],
    ] as const) {
      await request(
        ts,
        'POST',
        base,
        json({
          apiVersion: 'berth.dev/v1alpha1',
          kind: 'Container',
          metadata: { name, labels: { grp: 'x' } },
          spec: { image: 'busybox', nodeName: node },
        }),
      );
    }
    const onN1 = (await request(ts, 'GET', `${base}?fieldSelector=spec.nodeName%3Dn1`)).json<{
      items: { metadata: { name: string } }[];
    }>();
    t.same(
      onN1.items.map((i) => i.metadata.name),
      ['c1', 'c3'],
    );
    const notN1 = (await request(ts, 'GET', `${base}?fieldSelector=spec.nodeName!%3Dn1`)).json<{
      items: { metadata: { name: string } }[];
    }>();
    t.same(
      notN1.items.map((i) => i.metadata.name),
      ['c2'],
    );
    const paged = (await request(ts, 'GET', `${base}?limit=2`)).json<{
      items: unknown[];
      metadata: { continue: string };
    }>();
    t.equal(paged.items.length, 2);
    const rest = (await request(ts, 'GET', `${base}?limit=2&continue=${paged.metadata.continue}`)).json<{
      items: unknown[];
      metadata: { continue?: string };
    }>();
    t.equal(rest.items.length, 1);
    t.notOk(rest.metadata.continue);
    const del = await request(ts, 'DELETE', `${base}?labelSelector=grp%3Dx`);
    t.equal(del.status, 200);
    t.same((await request(ts, 'GET', base)).json<{ items: unknown[] }>().items, []);
  });

  t.test('Secret stringData is written into data', async (t) => {
    const s = await request(
      ts,
      'POST',
      '/api/v1/namespaces/default/secrets',
      json({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sec' }, stringData: { password: 'hunter2' } }),
    );
    const body = s.json<{ data: Record<string, string>; stringData?: unknown; type: string }>();
    t.equal(Buffer.from(body.data['password']!, 'base64').toString(), 'hunter2');
    t.equal(body.stringData, undefined);
    t.equal(body.type, 'Opaque');
  });

  t.test(
    'Accept drop=metadata.managedFields: answers and watch events without them, the stored object keeps them',
    async (t) => {
      const base = '/api/v1/namespaces/default/configmaps';
      const drop = 'application/json;drop=metadata.managedFields';
      type Obj = { metadata: { name: string; resourceVersion: string; managedFields?: unknown[] } };
      const before = (await request(ts, 'GET', base)).json<{ metadata: { resourceVersion: string } }>().metadata
        .resourceVersion;
      for (let i = 0; i < 20; i++) {
        const cm = {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `mf-${i}`, labels: { mf: 'y' } },
          data: { k: 'v' },
        };
        const created = await request(ts, 'POST', base, { ...json(cm), accept: i === 0 ? drop : 'application/json' });
        t.equal(created.status, 201);
        t.equal(
          created.json<Obj>().metadata.managedFields === undefined,
          i === 0,
          `create ${i}: dropped only when asked`,
        );
      }
      const full = await request(ts, 'GET', `${base}/mf-0`);
      t.ok(full.json<Obj>().metadata.managedFields?.length, 'a plain GET shows the managedFields the create recorded');
      const lean = await request(ts, 'GET', `${base}/mf-0`, { accept: drop });
      t.equal(lean.json<Obj>().metadata.managedFields, undefined, 'GET with drop');
      t.same(
        { ...full.json<Obj>(), metadata: { ...full.json<Obj>().metadata, managedFields: undefined } },
        {
          ...lean.json<Obj>(),
          metadata: { ...lean.json<Obj>().metadata, managedFields: undefined },
        },
        'and nothing else is missing',
      );
      const unknown = await request(ts, 'GET', `${base}/mf-0`, {
        accept: 'application/json;drop=metadata.annotations',
      });
      t.ok(unknown.json<Obj>().metadata.managedFields?.length, 'an unknown drop target is ignored');
      const listFull = await request(ts, 'GET', `${base}?labelSelector=mf%3Dy`);
      const listLean = await request(ts, 'GET', `${base}?labelSelector=mf%3Dy`, { accept: drop });
      const items = listLean.json<{ items: Obj[] }>().items;
      t.equal(items.length, 20);
      t.ok(
        items.every((o) => o.metadata.managedFields === undefined),
        'LIST with drop',
      );
      t.ok(
        listLean.text.length < listFull.text.length * 0.8,
        `the list is smaller (${listLean.text.length} < ${listFull.text.length} bytes)`,
      );
      const table = await request(ts, 'GET', `${base}?labelSelector=mf%3Dy&includeObject=Object`, {
        accept: 'application/json;as=Table;v=v1;g=meta.k8s.io;drop=metadata.managedFields',
      });
      const rows = table.json<{ kind: string; rows: { object: Obj }[] }>();
      t.equal(rows.kind, 'Table');
      t.ok(
        rows.rows.length === 20 && rows.rows.every((r) => r.object.metadata.managedFields === undefined),
        'Table rows',
      );
      const patched = await request(ts, 'PATCH', `${base}/mf-1`, {
        body: JSON.stringify({ data: { k: 'w' } }),
        contentType: 'application/merge-patch+json',
        accept: drop,
      });
      t.equal(patched.json<Obj>().metadata.managedFields, undefined, 'PATCH answer');
      t.ok(
        (await request(ts, 'GET', `${base}/mf-1`)).json<Obj>().metadata.managedFields?.length,
        'stored object keeps them',
      );
      // Watches from before the creates (the shared fast path, full and lean side by side) and from 0 with a selector
      // (each object rendered for this watcher); timeoutSeconds=1 ends them.
      type Line = { type: string; object: Obj };
      const lines = (text: string): Line[] =>
        text
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Line);
      const from = `${base}?watch=true&resourceVersion=${before}&timeoutSeconds=1`;
      const [watchLean, watchFull] = await Promise.all([
        request(ts, 'GET', from, { accept: drop }),
        request(ts, 'GET', from),
      ]);
      const lean1 = lines(watchLean.text).filter((e) => e.object.metadata.name.startsWith('mf-'));
      const full1 = lines(watchFull.text).filter((e) => e.object.metadata.name.startsWith('mf-'));
      t.equal(lean1.length, 21, 'the lean watch saw the 20 creates and the patch');
      t.ok(
        lean1.every((e) => e.object.metadata.managedFields === undefined),
        'watch events with drop',
      );
      t.ok(
        full1.length === 21 && full1.every((e) => (e.object.metadata.managedFields?.length ?? 0) > 0),
        'beside it, a plain watch keeps them',
      );
      const selected = await request(
        ts,
        'GET',
        `${base}?watch=true&resourceVersion=0&timeoutSeconds=1&labelSelector=mf%3Dy`,
        {
          accept: drop,
        },
      );
      const initial = lines(selected.text);
      t.ok(
        initial.length === 20 &&
          initial.every((e) => e.type === 'ADDED' && e.object.metadata.managedFields === undefined),
        'initial ADDED events with drop',
      );
    },
  );
});
