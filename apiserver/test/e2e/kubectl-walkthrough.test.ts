// The README walk-through with the real kubectl 1.32: apply a multi-document manifest and use the everyday
// commands on what it created.

import { writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { startTestServer, eventually } from '@berth/testkit';

const demo = new URL('../../../manifests/examples/demo.yaml', import.meta.url).pathname;

t.test('kubectl against berth', async (t) => {
  // The Containers this test counts are the ones it creates: no service controller making replicas beside them.
  const ts = await startTestServer({ controllers: ['*', '-service'] });
  t.teardown(() => ts.close());
  const k = ts.kubectl;

  t.test('apply a multi-document manifest: namespace, configmap, secret, berth kinds, a CRD', async (t) => {
    const first = await k(['apply', '-f', demo]);
    t.match(first.stdout, /namespace\/demo created/);
    t.match(first.stdout, /container.berth.dev\/web created/);
    t.match(first.stdout, /customresourcedefinition.apiextensions.k8s.io\/backups.example.com created/);
    // As with Kubernetes, objects of a CRD created in the same run need a second apply.
    const second = await k(['apply', '-f', demo]);
    t.equal(second.code, 0, second.stderr);
    t.match(second.stdout, /backup.example.com\/site-nightly created/);
    t.match(second.stdout, /container.berth.dev\/once unchanged/);
  });

  t.test('get: table, wide, yaml, json, jsonpath, sort-by, selectors, all namespaces, labels', async (t) => {
    const table = await k(['get', 'ctr', '-n', 'demo']);
    t.match(table.stdout, /^NAME\s+IMAGE\s+STATUS/m);
    t.match(table.stdout, /^web\s+127\.0\.0\.1:5000\/library\/busybox:latest/m);
    const wide = await k(['get', 'ctr', '-n', 'demo', '-o', 'wide']);
    t.match(wide.stdout, /PORTS/);
    const yaml = await k(['get', 'ctr', 'web', '-n', 'demo', '-o', 'yaml']);
    t.match(yaml.stdout, /kind: Container/);
    t.match(yaml.stdout, /generation: 1/);
    const json = JSON.parse((await k(['get', 'ctr', '-n', 'demo', '-o', 'json'])).stdout) as { items: unknown[] };
    t.equal(json.items.length, 2);
    const jp = await k(['get', 'ctr', 'web', '-n', 'demo', '-o', 'jsonpath={.spec.image}']);
    t.equal(jp.stdout, '127.0.0.1:5000/library/busybox:latest');
    const sorted = await k(['get', 'ctr', '-n', 'demo', '--sort-by=.metadata.name', '-o', 'name']);
    t.equal(sorted.stdout, 'container.berth.dev/once\ncontainer.berth.dev/web\n');
    const sortedTable = await k(['get', 'ctr', '-n', 'demo', '--sort-by=.metadata.name']);
    t.match(sortedTable.stdout, /^once[\s\S]*^web/m);
    const byLabel = await k(['get', 'ctr', '-n', 'demo', '-l', 'app=web', '-o', 'name']);
    t.equal(byLabel.stdout, 'container.berth.dev/web\n');
    const setBased = await k(['get', 'ctr', '-n', 'demo', '-l', 'app notin (web)', '-o', 'name']);
    t.equal(setBased.stdout, 'container.berth.dev/once\n');
    const all = await k(['get', 'ctr', '-A']);
    t.match(all.stdout, /^NAMESPACE\s+NAME/m);
    t.match(all.stdout, /^demo\s+web/m);
    const labels = await k(['get', 'ctr', 'web', '-n', 'demo', '--show-labels']);
    t.match(labels.stdout, /app=web/);
    const crs = await k(['get', 'backups', '-n', 'demo']);
    t.match(crs.stdout, /site-nightly/);
  });

  t.test('describe, explain, api-resources, get --raw', async (t) => {
    const uid = (await k(['get', 'ctr', 'web', '-n', 'demo', '-o', 'jsonpath={.metadata.uid}'])).stdout;
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web.pulled', namespace: 'demo' },
      involvedObject: { apiVersion: 'berth.dev/v1alpha1', kind: 'Container', name: 'web', namespace: 'demo', uid },
      reason: 'Pulled',
      message: 'Successfully pulled image "busybox"',
      type: 'Normal',
      source: { component: 'berth-node-agent' },
    };
    t.equal((await k(['create', '-f', '-'], { input: JSON.stringify(event) })).code, 0);
    const d = await k(['describe', 'ctr', 'web', '-n', 'demo']);
    t.match(
      d.stdout,
      /Normal\s+Pulled\s+\S+\s+berth-node-agent\s+Successfully pulled image "busybox"/,
      "describe shows the Container's events",
    );
    t.equal(d.code, 0, d.stderr);
    t.match(d.stdout, /Name:\s+web/);
    t.match(d.stdout, /Namespace:\s+demo/);
    const e = await k(['explain', 'containers.spec']);
    t.equal(e.code, 0, e.stderr);
    t.match(e.stdout, /KIND:\s+Container/);
    t.match(e.stdout, /image\s+<string>/);
    const ar = await k(['api-resources']);
    t.match(ar.stdout, /^containers\s+ctr\s+berth\.dev\/v1alpha1\s+true\s+Container/m);
    t.match(ar.stdout, /^backups\s+/m);
    const raw = await k(['get', '--raw', '/apis/berth.dev/v1alpha1']);
    t.equal((JSON.parse(raw.stdout) as { kind: string }).kind, 'APIResourceList');
  });

  t.test('label, annotate, patch (merge and json), replace, edit', async (t) => {
    t.match((await k(['label', 'ctr', 'web', '-n', 'demo', 'env=prod'])).stdout, /labeled/);
    t.match((await k(['annotate', 'ctr', 'web', '-n', 'demo', 'note=hello'])).stdout, /annotated/);
    const patchWeb = async (type: string, body: string) =>
      (await k(['patch', 'ctr', 'web', '-n', 'demo', '--type', type, '-p', body])).stdout;
    t.match(await patchWeb('merge', '{"spec":{"restartPolicy":"OnFailure"}}'), /patched/);
    t.match(
      await patchWeb('json', '[{"op":"replace","path":"/spec/image","value":"127.0.0.1:5000/library/busybox:1"}]'),
      /patched/,
    );
    const got = JSON.parse((await k(['get', 'ctr', 'web', '-n', 'demo', '-o', 'json'])).stdout) as {
      metadata: { labels: Record<string, string>; annotations: Record<string, string>; generation: number };
      spec: { restartPolicy: string; image: string };
    };
    t.equal(got.metadata.labels['env'], 'prod');
    t.equal(got.metadata.annotations['note'], 'hello');
    t.equal(got.spec.restartPolicy, 'OnFailure');
    t.equal(got.spec.image, '127.0.0.1:5000/library/busybox:1');
    t.equal(got.metadata.generation, 3, 'two spec changes bump generation twice; label/annotate do not');
    t.match((await k(['label', 'ctr', 'web', '-n', 'demo', 'env-'])).stdout, /unlabeled/);

    const yaml = (await k(['get', 'ctr', 'web', '-n', 'demo', '-o', 'yaml'])).stdout.replace(
      'restartPolicy: OnFailure',
      'restartPolicy: Never',
    );
    const replaced = await k(['replace', '-f', '-'], { input: yaml });
    t.match(replaced.stdout, /replaced/, replaced.stderr);
    const stale = await k(['replace', '-f', '-'], { input: yaml });
    t.equal(stale.code, 1);
    t.match(stale.stderr, /Conflict.*the object has been modified/);

    const editor = join(ts.dir, 'editor.sh');
    await writeFile(editor, '#!/bin/sh\nsed -i "s/restartPolicy: Never/restartPolicy: Always/" "$1"\n');
    await chmod(editor, 0o755);
    const edited = await k(['edit', 'ctr', 'web', '-n', 'demo'], { env: { EDITOR: editor, KUBE_EDITOR: editor } });
    t.match(edited.stdout, /edited/, edited.stderr);
    t.equal((await k(['get', 'ctr', 'web', '-n', 'demo', '-o', 'jsonpath={.spec.restartPolicy}'])).stdout, 'Always');
  });

  t.test('wait --for=jsonpath sees a status change', async (t) => {
    const waiting = k(['wait', 'ctr/once', '-n', 'demo', '--for=jsonpath={.status.phase}=Succeeded', '--timeout=20s']);
    await new Promise((r) => setTimeout(r, 500));
    const patched = await k([
      'patch',
      'ctr',
      'once',
      '-n',
      'demo',
      '--subresource=status',
      '--type',
      'merge',
      '-p',
      '{"status":{"phase":"Succeeded"}}',
    ]);
    t.equal(patched.code, 0, patched.stderr);
    const done = await waiting;
    t.equal(done.code, 0, done.stderr);
    t.match(done.stdout, /condition met/);
  });

  t.test('delete with and without finalizers', async (t) => {
    t.match((await k(['delete', 'backup', 'site-hourly', '-n', 'demo'])).stdout, /deleted/);
    await k([
      'patch',
      'ctr',
      'once',
      '-n',
      'demo',
      '--type',
      'merge',
      '-p',
      '{"metadata":{"finalizers":["berth.dev/test"]}}',
    ]);
    const marked = await k(['delete', 'ctr', 'once', '-n', 'demo', '--wait=false']);
    t.equal(marked.code, 0, marked.stderr);
    const still = JSON.parse((await k(['get', 'ctr', 'once', '-n', 'demo', '-o', 'json'])).stdout) as {
      metadata: { deletionTimestamp?: string };
    };
    t.ok(still.metadata.deletionTimestamp, 'marked for deletion while a finalizer remains');
    await k([
      'patch',
      'ctr',
      'once',
      '-n',
      'demo',
      '--type',
      'json',
      '-p',
      '[{"op":"remove","path":"/metadata/finalizers"}]',
    ]);
    const gone = await k(['get', 'ctr', 'once', '-n', 'demo']);
    t.match(gone.stderr, /NotFound/);
  });

  t.test('kubectl create namespace/configmap/secret (protobuf bodies)', async (t) => {
    t.match((await k(['create', 'namespace', 'made'])).stdout, /namespace\/made created/);
    t.match((await k(['create', 'configmap', 'cm', '-n', 'made', '--from-literal=a=b'])).stdout, /created/);
    t.match((await k(['create', 'secret', 'generic', 's', '-n', 'made', '--from-literal=pw=x'])).stdout, /created/);
    t.equal((await k(['get', 'cm', 'cm', '-n', 'made', '-o', 'jsonpath={.data.a}'])).stdout, 'b');
    t.equal(
      Buffer.from(
        (await k(['get', 'secret', 's', '-n', 'made', '-o', 'jsonpath={.data.pw}'])).stdout,
        'base64',
      ).toString(),
      'x',
    );
  });

  t.test('delete a namespace with its contents', async (t) => {
    const del = await k(['delete', 'namespace', 'demo', '--timeout=30s']);
    t.equal(del.code, 0, del.stderr);
    t.ok(await eventually(async () => (await k(['get', 'ns', 'demo'])).code !== 0));
    const left = await k(['get', 'ctr,cm,secret', '-n', 'demo', '-o', 'name']);
    t.equal(left.stdout, '');
  });
});
