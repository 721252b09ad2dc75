// Images through the API with a real node agent (crun, overlayfs) and a loopback registry: a plain reference is
// pulled onto the node and gets status; a `spec.build` is bound to a node by the image build controller, built there
// from an uploaded context, pushed, and run by a Container; the same build again takes every layer from the cache;
// a second node with a clean data dir pulls the pushed image back by digest and runs it.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import t from 'tap';
import type { Container, Image } from '@berth/api';
import { eventually, pushBusybox, startRegistry, startTestAgent, startTestServer } from '@berth/testkit';

const run = promisify(execFile);
const registry = await startRegistry(t);
const busyboxDigest = await pushBusybox(t, registry.address);
const base = `${registry.address}/library/busybox:latest`;
const ts = await startTestServer({ controllers: ['image-build'] });
t.teardown(() => ts.close());
const agent = await startTestAgent(t, ts);
const kc = ts.kubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const core = kc.makeApiClient(CoreV1Api);
const where = { group: 'berth.dev', version: 'v1alpha1', namespace: 'default' };

const createImage = (name: string, spec: Image['spec']) =>
  custom.createNamespacedCustomObject({
    ...where,
    plural: 'images',
    body: { apiVersion: 'berth.dev/v1alpha1', kind: 'Image', metadata: { name }, spec },
  });
const getImage = async (name: string) =>
  (await custom.getNamespacedCustomObject({ ...where, plural: 'images', name })) as Image;
async function imageSettled(name: string, timeoutMs = 60_000): Promise<Image> {
  let last: Image | undefined;
  await eventually(async () => {
    last = await getImage(name);
    return last.status?.phase === 'Ready' || last.status?.phase === 'Failed';
  }, timeoutMs);
  return last as Image;
}
async function runToEnd(name: string, image: string, nodeName: string): Promise<Container> {
  await custom.createNamespacedCustomObject({
    ...where,
    plural: 'containers',
    body: {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Container',
      metadata: { name },
      spec: { image, nodeName, restartPolicy: 'Never', networkMode: 'none' },
    },
  });
  let last: Container | undefined;
  await eventually(async () => {
    last = (await custom.getNamespacedCustomObject({ ...where, plural: 'containers', name })) as Container;
    return last.status?.phase === 'Succeeded' || last.status?.phase === 'Failed';
  }, 60_000);
  return last as Container;
}

/** The context `berth build` would upload: a gzip tar in a ConfigMap's binaryData. */
async function uploadContext(name: string, files: Record<string, string>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-image-ctx-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
  await run('tar', ['-C', dir, '-czf', join(dir, '..', `${name}.tgz`), '.']);
  const bytes = await readFile(join(dir, '..', `${name}.tgz`));
  await rm(join(dir, '..', `${name}.tgz`));
  await core.createNamespacedConfigMap({
    namespace: 'default',
    body: { metadata: { name }, binaryData: { 'context.tar.gz': bytes.toString('base64') } },
  });
}

t.test('an Image with a plain reference is pulled onto the node and reports it', async (t) => {
  await createImage('busybox', { image: base });
  const image = await imageSettled('busybox');
  t.equal(image.status?.phase, 'Ready', image.status?.message ?? '');
  t.equal(image.status?.digest, busyboxDigest);
  t.match(image.status?.imageID, /^sha256:/);
  t.equal(image.status?.layers?.length, 1);
  t.same(
    image.status?.nodes?.map((n) => [n.nodeName, n.present]),
    [[agent.nodeName, true]],
  );
  await createImage('missing', { image: `${registry.address}/library/nothing:1` });
  const missing = await imageSettled('missing');
  t.equal(missing.status?.phase, 'Failed');
  t.match(missing.status?.message, /not found/);
});

const dockerfile = `FROM ${base} AS build
ARG WHO=nobody
COPY name.txt /
RUN echo "hi from $(cat /name.txt) for $WHO" > /out.txt
FROM ${base}
COPY --from=build /out.txt /app/out.txt
CMD ["sh", "-c", "grep -q 'hi from berth for tests' /app/out.txt"]
`;

t.test('a build is bound to a node, built, pushed, run; the same build again runs nothing', async (t) => {
  await uploadContext('app-context', { Dockerfile: dockerfile, 'name.txt': 'berth' });
  const reference = `${registry.address}/demo/app:v1`;
  await createImage('app', {
    image: reference,
    build: { contextConfigMap: { name: 'app-context' }, buildArgs: { WHO: 'tests' } },
    push: true,
  });
  const built = await imageSettled('app', 90_000);
  t.equal(built.status?.phase, 'Ready', built.status?.message ?? '');
  t.equal(built.status?.nodeName, agent.nodeName, 'the controller bound the build to the node');
  t.match(built.status?.message, /3 steps ran, 0 cached; pushed \(3 blobs uploaded, 0 already there\)/);
  t.same(
    built.status?.steps?.filter((s) => s.cached !== undefined).map((s) => [s.instruction.split(' ')[0], s.cached]),
    [
      ['COPY', false],
      ['RUN', false],
      ['COPY', false],
    ],
  );
  const c = await runToEnd('app-run', reference, agent.nodeName);
  t.equal(c.status?.exitCode, 0, 'the built image runs on the node and sees the first stage output');

  await createImage('app-again', {
    image: `${registry.address}/demo/app:v2`,
    build: { contextConfigMap: { name: 'app-context' }, buildArgs: { WHO: 'tests' } },
  });
  const again = await imageSettled('app-again', 60_000);
  t.equal(again.status?.phase, 'Ready', again.status?.message ?? '');
  t.equal(again.status?.steps?.filter((s) => s.cached === false).length, 0, 'the rebuild ran 0 steps');
  t.ok(
    (again.status?.steps ?? []).some((s) => s.cached === true),
    'its layers came from the cache',
  );
  t.same(again.status?.layers, built.status?.layers);

  await createImage('broken', {
    image: `${registry.address}/demo/broken:v1`,
    build: { contextConfigMap: { name: 'app-context' }, target: 'nope' },
  });
  const broken = await imageSettled('broken');
  t.equal(broken.status?.phase, 'Failed');
  t.match(broken.status?.message, /target stage nope/);

  // A second node with a clean data dir: the pushed image comes back from the registry by digest, and runs.
  const second = await startTestAgent(t, ts);
  const byDigest = `${registry.address}/demo/app@${built.status?.digest ?? ''}`;
  await createImage('app-pulled', { image: byDigest, nodeSelector: { 'kubernetes.io/hostname': second.nodeName } });
  const pulled = await imageSettled('app-pulled');
  t.equal(pulled.status?.phase, 'Ready', pulled.status?.message ?? '');
  t.equal(pulled.status?.digest, built.status?.digest);
  t.same(
    pulled.status?.nodes?.map((n) => n.nodeName),
    [second.nodeName],
  );
  const c2 = await runToEnd('app-run-2', byDigest, second.nodeName);
  t.equal(c2.status?.exitCode, 0, 'the pulled image runs on the clean node');
});
