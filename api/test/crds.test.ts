// berth's CRDs: names, scopes, subresources, printer columns, and schemas that validate and default real manifests.
import t, { type Test } from 'tap';
import { readFile, readdir } from 'node:fs/promises';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { loadBerthCrds, berthKinds, type CustomResourceDefinition, type JSONSchemaProps } from '@berth/api';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function ajvFor(crd: CustomResourceDefinition): ReturnType<Ajv['compile']> {
  const ajv = new Ajv({ strict: false, useDefaults: true, allErrors: true });
  for (const k of [
    'x-kubernetes-int-or-string',
    'x-kubernetes-list-type',
    'x-kubernetes-list-map-keys',
    'x-kubernetes-map-type',
    'x-kubernetes-preserve-unknown-fields',
  ]) {
    ajv.addKeyword(k);
  }
  return ajv.compile(crd.spec.versions[0]!.schema!.openAPIV3Schema!);
}

function byKind(crds: CustomResourceDefinition[], kind: string): CustomResourceDefinition {
  const crd = crds.find((c) => c.spec.names.kind === kind);
  if (!crd) throw new Error(`no CRD for ${kind}`);
  return crd;
}

t.test(
  'loadBerthCrds returns the seven kinds of crds/ as independent copies (Nodes are the built-in v1 Node)',
  async (t) => {
    const crds = await loadBerthCrds();
    t.same(crds.map((c) => c.metadata.name).sort(), [
      'containers.berth.dev',
      'gitrepositories.berth.dev',
      'images.berth.dev',
      'networks.berth.dev',
      'services.berth.dev',
      'syncs.berth.dev',
      'volumes.berth.dev',
    ]);
    crds[0]!.spec.names.plural = 'changed';
    t.not((await loadBerthCrds())[0]!.spec.names.plural, 'changed', 'callers cannot change the shared data');
    t.equal(berthKinds.length, 7);
    const files = (await readdir(join(root, 'crds'))).filter((f) => f.endsWith('.yaml'));
    t.equal(files.length, 7, 'one file per kind');
  },
);

t.test('names, scope, short names and categories', async (t) => {
  const crds = await loadBerthCrds();
  const expect: Record<string, [string, string[], string[]]> = {
    Container: ['Namespaced', ['ctr'], ['berth', 'all']],
    Service: ['Namespaced', ['svc'], ['berth', 'all']],
    Volume: ['Namespaced', ['vol'], ['berth', 'all']],
    Network: ['Namespaced', ['net'], ['berth', 'all']],
    Image: ['Namespaced', ['img'], ['berth', 'all']],
  };
  for (const [kind, [scope, shortNames, categories]] of Object.entries(expect)) {
    const crd = byKind(crds, kind);
    t.equal(crd.spec.group, 'berth.dev');
    t.equal(crd.spec.scope, scope, `${kind} scope`);
    t.same(crd.spec.names.shortNames, shortNames, `${kind} short names`);
    t.same(crd.spec.names.categories, categories, `${kind} categories`);
    t.equal(crd.spec.names.listKind, `${kind}List`);
    const v = crd.spec.versions;
    t.equal(v.length, 1);
    t.equal(v[0]!.name, 'v1alpha1');
    t.ok(v[0]!.served && v[0]!.storage);
    t.same(v[0]!.subresources?.status, {}, `${kind} has a status subresource`);
  }
  t.same(byKind(crds, 'Service').spec.versions[0]!.subresources!.scale, {
    specReplicasPath: '.spec.replicas',
    statusReplicasPath: '.status.replicas',
    labelSelectorPath: '.status.selector',
  });
});

t.test('printer columns and selectable fields', async (t) => {
  const crds = await loadBerthCrds();
  const ctr = byKind(crds, 'Container').spec.versions[0]!;
  const cols = ctr.additionalPrinterColumns!;
  t.same(
    cols.filter((c) => !c.priority).map((c) => [c.name, c.jsonPath]),
    [
      ['Image', '.spec.image'],
      ['Status', '.status.phase'],
      ['Node', '.spec.nodeName'],
      ['IP', '.status.ips[0].ip'],
      ['Restarts', '.status.restartCount'],
      ['Age', '.metadata.creationTimestamp'],
    ],
  );
  t.same(
    cols.filter((c) => c.priority === 1).map((c) => c.name),
    ['Ports', 'Reason', 'Container-ID'],
  );
  t.same(ctr.selectableFields, [
    { jsonPath: '.spec.nodeName' },
    { jsonPath: '.status.phase' },
    { jsonPath: '.spec.image' },
  ]);
  const svc = byKind(crds, 'Service').spec.versions[0]!.additionalPrinterColumns!;
  t.same(
    svc.filter((c) => !c.priority).map((c) => c.name),
    ['Desired', 'Ready', 'Up-to-date', 'Available', 'Image', 'Age'],
  );
  for (const crd of crds) {
    const v = crd.spec.versions[0]!;
    t.ok(
      v.additionalPrinterColumns!.some((c) => c.name === 'Age' && c.type === 'date'),
      `${crd.spec.names.kind} has Age`,
    );
    t.ok((v.selectableFields ?? []).length <= 8, 'Kubernetes allows at most 8 selectable fields');
  }
});

t.test('every field has a description and every list a list type', async (t) => {
  const problems: string[] = [];
  const walk = (s: JSONSchemaProps, path: string): void => {
    for (const [name, child] of Object.entries(s.properties ?? {})) {
      if (!child.description) problems.push(`${path}.${name}`);
      walk(child, `${path}.${name}`);
    }
    if (s.type === 'array' && !s['x-kubernetes-list-type']) problems.push(`${path} list type`);
    if (s.items) walk(s.items, `${path}[]`);
    if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${path}{}`);
  };
  for (const crd of await loadBerthCrds()) walk(crd.spec.versions[0]!.schema!.openAPIV3Schema!, crd.spec.names.kind);
  t.same(problems, []);
});

t.test('list semantics for server-side apply', async (t) => {
  const spec = byKind(await loadBerthCrds(), 'Container').spec.versions[0]!.schema!.openAPIV3Schema!.properties![
    'spec'
  ]!;
  const p = spec.properties!;
  t.same([p['env']!['x-kubernetes-list-type'], p['env']!['x-kubernetes-list-map-keys']], ['map', ['name']]);
  t.same(p['ports']!['x-kubernetes-list-map-keys'], ['containerPort', 'protocol']);
  t.same(p['volumeMounts']!['x-kubernetes-list-map-keys'], ['mountPath']);
  t.same(p['volumes']!['x-kubernetes-list-map-keys'], ['name']);
  t.same(p['networks']!['x-kubernetes-list-map-keys'], ['name']);
  t.equal(p['command']!['x-kubernetes-list-type'], 'atomic');
  t.equal(p['args']!['x-kubernetes-list-type'], 'atomic');
  t.equal(p['resources']!.properties!['limits']!.properties!['memory']!['x-kubernetes-int-or-string'], true);
});

async function examples(t: Test): Promise<Record<string, unknown>[]> {
  const dir = join(root, 'manifests', 'examples');
  const out: Record<string, unknown>[] = [];
  for (const f of (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort()) {
    for (const doc of parseAllDocuments(await readFile(join(dir, f), 'utf8'))) {
      t.same(doc.errors, [], `${f} parses`);
      out.push(doc.toJS() as Record<string, unknown>);
    }
  }
  return out;
}

t.test('every berth object in manifests/examples/ validates against its CRD', async (t) => {
  const crds = await loadBerthCrds();
  const docs = await examples(t);
  const demoCrd = docs.find((d) => d['kind'] === 'CustomResourceDefinition') as unknown as CustomResourceDefinition;
  t.ok(demoCrd, 'demo.yaml carries a user CRD');
  const kinds = new Set<string>();
  for (const doc of docs) {
    const [group] = String(doc['apiVersion']).split('/');
    const crd =
      group === 'berth.dev' ? byKind(crds, String(doc['kind'])) : group === 'example.com' ? demoCrd : undefined;
    if (!crd) continue;
    kinds.add(String(doc['kind']));
    const validate = ajvFor(crd);
    t.ok(
      validate(doc),
      `${String(doc['kind'])} ${JSON.stringify((doc['metadata'] as { name: string }).name)}: ${JSON.stringify(validate.errors)}`,
    );
  }
  t.same([...kinds].sort(), ['Backup', 'Container', 'Image', 'Network', 'Service', 'Volume']);
});

t.test('schemas default like Kubernetes and reject bad values', async (t) => {
  const crds = await loadBerthCrds();
  const ctr = ajvFor(byKind(crds, 'Container'));
  const obj = {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name: 'x' },
    spec: { image: 'busybox', ports: [{ containerPort: 80 }], livenessProbe: { tcpSocket: { port: 80 } } },
  } as Record<string, unknown> & { spec: Record<string, unknown> };
  t.ok(ctr(obj), JSON.stringify(ctr.errors));
  t.equal(obj.spec['restartPolicy'], 'Always');
  t.equal(obj.spec['terminationGracePeriodSeconds'], 30);
  t.same(obj.spec['ports'], [{ containerPort: 80, protocol: 'TCP' }]);
  t.match(obj.spec['livenessProbe'], {
    timeoutSeconds: 1,
    periodSeconds: 10,
    successThreshold: 1,
    failureThreshold: 3,
  });
  t.notOk(ctr({ ...obj, spec: { image: 'busybox', restartPolicy: 'Sometimes' } }), 'restartPolicy is an enum');
  t.notOk(ctr({ ...obj, spec: {} }), 'image is required');
  t.notOk(
    ctr({ ...obj, spec: { image: 'b', resources: { limits: { memory: '12 apples' } } } }),
    'quantities have a pattern',
  );
  t.ok(
    ctr({ ...obj, spec: { image: 'b', resources: { limits: { memory: '64Mi', cpu: 1, pids: 100 } } } }),
    'int or string',
  );

  const svc = ajvFor(byKind(crds, 'Service'));
  const s = {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { spec: { image: 'busybox' } } },
  } as Record<string, unknown> & { spec: Record<string, unknown> };
  t.ok(svc(s), JSON.stringify(svc.errors));
  t.equal(s.spec['replicas'], 1);
  t.same(s.spec['strategy'], { type: 'RollingUpdate' });
  t.equal((s.spec['template'] as { spec: Record<string, unknown> }).spec['restartPolicy'], 'Always');

  const vol = ajvFor(byKind(crds, 'Volume'));
  const v = { apiVersion: 'berth.dev/v1alpha1', kind: 'Volume', metadata: { name: 'v' } } as Record<string, unknown>;
  t.ok(vol(v));
  t.same(
    v['spec'],
    { driver: 'local', accessMode: 'ReadWriteOnce', reclaimPolicy: 'Delete' },
    'spec defaults to {} then fills in',
  );
});
