// Apply as kubectl users see it: server-side apply with two managers (conflict, forced takeover, removal of a
// dropped field), client-side → server-side migration, diff exit codes, and server dry run.

import t from 'tap';
import { stringify } from 'yaml';
import { request, startTestServer } from '@berth/testkit';

const ctr = (spec: Record<string, unknown>, labels: Record<string, string> = { app: 'web' }) =>
  stringify({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name: 'web', namespace: 'default', labels },
    spec,
  });

t.test('server-side apply with two field managers', async (t) => {
  // No scheduler: it would write the unbound Container's Scheduled condition, a third manager this test does not mean.
  const ts = await startTestServer({ controllers: ['*', '-scheduler'] });
  t.teardown(() => ts.close());
  const k = ts.kubectl;
  const a = await k(['apply', '--server-side', '--field-manager=alice', '-f', '-'], {
    input: ctr({ image: 'busybox:1', env: [{ name: 'A', value: '1' }] }),
  });
  t.match(a.stdout, /serverside-applied/, a.stderr);
  const b = await k(['apply', '--server-side', '--field-manager=bob', '-f', '-'], {
    input: ctr({ image: 'busybox:2' }, {}),
  });
  t.equal(b.code, 1, 'conflict on a field another manager owns with another value');
  t.match(b.stderr, /conflict with "alice"/);
  t.match(b.stderr, /\.spec\.image/);
  const forced = await k(['apply', '--server-side', '--field-manager=bob', '--force-conflicts', '-f', '-'], {
    input: ctr({ image: 'busybox:2' }, {}),
  });
  t.equal(forced.code, 0, forced.stderr);
  const yaml = (await k(['get', 'ctr', 'web', '-o', 'yaml', '--show-managed-fields'])).stdout;
  t.match(yaml, /manager: bob/);
  t.match(yaml, /image: busybox:2/);
  // alice drops env from her config: it goes, as nobody else owns it; the image stays bob's.
  const dropped = await k(['apply', '--server-side', '--field-manager=alice', '-f', '-'], {
    input: ctr({ image: 'busybox:2' }),
  });
  t.equal(dropped.code, 0, dropped.stderr);
  const obj = JSON.parse((await k(['get', 'ctr', 'web', '-o', 'json', '--show-managed-fields'])).stdout) as {
    spec: { env?: unknown; image: string };
    metadata: { managedFields: { manager: string; operation: string; fieldsV1: Record<string, unknown> }[] };
  };
  t.equal(obj.spec.env, undefined, 'env removed with its only owner');
  t.equal(obj.spec.image, 'busybox:2');
  const managers = obj.metadata.managedFields.map((m) => `${m.manager}/${m.operation}`).sort();
  t.same(managers, ['alice/Apply', 'bob/Apply']);
});

t.test('client-side apply, then server-side apply of the same manifest, diff, dry run', async (t) => {
  const ts = await startTestServer();
  t.teardown(() => ts.close());
  const k = ts.kubectl;
  const manifest = ctr({ image: 'busybox:1', restartPolicy: 'Never' });
  t.match((await k(['apply', '-f', '-'], { input: manifest })).stdout, /created/);
  const ssa = await k(['apply', '--server-side', '-f', '-'], { input: manifest });
  t.equal(ssa.code, 0, `no spurious conflict: ${ssa.stderr}`);
  const same = await k(['diff', '-f', '-'], { input: manifest });
  t.equal(same.code, 0, `diff of an unchanged manifest exits 0: ${same.stdout}${same.stderr}`);
  const changed = ctr({ image: 'busybox:9', restartPolicy: 'Never' });
  const diff = await k(['diff', '-f', '-'], { input: changed });
  t.equal(diff.code, 1, diff.stderr);
  t.match(diff.stdout, /-\s+image: busybox:1/);
  t.match(diff.stdout, /\+\s+image: busybox:9/);
  const ssaDiff = await k(['diff', '--server-side', '-f', '-'], { input: changed });
  t.equal(ssaDiff.code, 1, ssaDiff.stderr);

  const before = (await k(['get', 'ctr', 'web', '-o', 'jsonpath={.metadata.resourceVersion}'])).stdout;
  const watch = request(
    ts,
    'GET',
    `/apis/berth.dev/v1alpha1/namespaces/default/containers?watch=true&resourceVersion=${before}&timeoutSeconds=2`,
  );
  const dry = await k(['apply', '--dry-run=server', '-o', 'jsonpath={.spec.image}', '-f', '-'], { input: changed });
  t.equal(dry.stdout, 'busybox:9', 'dry run answers the would-be object');
  t.equal((await k(['get', 'ctr', 'web', '-o', 'jsonpath={.spec.image}'])).stdout, 'busybox:1', 'nothing stored');
  t.equal((await k(['get', 'ctr', 'web', '-o', 'jsonpath={.metadata.resourceVersion}'])).stdout, before);
  t.equal((await watch).text.trim(), '', 'watchers see nothing');
});

t.test('strategic merge patch for built-ins, 415 for custom resources', async (t) => {
  const ts = await startTestServer();
  t.teardown(() => ts.close());
  const k = ts.kubectl;
  await k(['apply', '-f', '-'], {
    input: stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } }),
  });
  const p = await k(['patch', 'cm', 'c', '-p', '{"data":{"b":"2"}}']);
  t.equal(p.code, 0, p.stderr);
  t.same(JSON.parse((await k(['get', 'cm', 'c', '-o', 'jsonpath={.data}'])).stdout), { a: '1', b: '2' });
  await k(['apply', '-f', '-'], { input: ctr({ image: 'busybox' }) });
  const smp = await k(['patch', 'ctr', 'web', '-p', '{"spec":{"image":"x"}}']);
  t.equal(smp.code, 1);
  t.match(smp.stderr, /application\/strategic-merge-patch\+json is not supported/);
});

t.test('prune, kustomize, dry-run delete', async (t) => {
  const ts = await startTestServer();
  t.teardown(() => ts.close());
  const k = ts.kubectl;
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const two = ['a', 'b']
    .map((n) =>
      stringify({
        apiVersion: 'berth.dev/v1alpha1',
        kind: 'Container',
        metadata: { name: n, labels: { set: 'demo' } },
        spec: { image: 'busybox' },
      }),
    )
    .join('---\n');
  await k(['apply', '-f', '-'], { input: two });
  const onlyA = stringify({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name: 'a', labels: { set: 'demo' } },
    spec: { image: 'busybox' },
  });
  const pruned = await k(
    ['apply', '--prune', '-l', 'set=demo', '--prune-allowlist=berth.dev/v1alpha1/Container', '-f', '-'],
    { input: onlyA },
  );
  t.equal(pruned.code, 0, pruned.stderr);
  t.match(pruned.stdout, /container.berth.dev\/b pruned/);
  t.equal((await k(['get', 'ctr', '-o', 'name'])).stdout, 'container.berth.dev/a\n');

  const dir = join(ts.dir, 'kustomize');
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'c.yaml'),
    stringify({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Container',
      metadata: { name: 'k' },
      spec: { image: 'busybox' },
    }),
  );
  await writeFile(
    join(dir, 'kustomization.yaml'),
    stringify({ resources: ['c.yaml'], namePrefix: 'kz-', commonLabels: { via: 'kustomize' } }),
  );
  const kz = await k(['apply', '-k', dir]);
  t.equal(kz.code, 0, kz.stderr);
  t.equal((await k(['get', 'ctr', 'kz-k', '-o', 'jsonpath={.metadata.labels.via}'])).stdout, 'kustomize');

  const dry = await k(['delete', 'ctr', 'a', '--dry-run=server']);
  t.equal(dry.code, 0, dry.stderr);
  t.match(dry.stdout, /deleted \(server dry run\)/);
  t.equal((await k(['get', 'ctr', 'a', '-o', 'name'])).stdout, 'container.berth.dev/a\n', 'still there');
});
