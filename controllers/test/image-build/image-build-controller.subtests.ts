// The image build controller against a real API server: an Image with a spec.build naming no node is bound to a
// Ready Node (status.nodeName, phase Pending); with no Ready Node it waits and says so; a build whose Node stops
// being Ready before it finished is bound to another; a build naming its node is left alone. (The builds themselves
// run in cli/test/image-commands.test.ts and node-agent/test/build/.)
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import t from 'tap';
import type { Image } from '@berth/api';
import { eventually, startTestServer } from '@berth/testkit';
import { startControllers } from '../../src/index.js';

const ts = await startTestServer({ controllers: false });
t.teardown(() => ts.close());
const controllers = await startControllers({
  kubeconfig: ts.kubeconfig,
  leaderElection: false,
  controllers: ['image-build'],
});
t.teardown(() => controllers.close());
const kc = ts.kubeConfig();
const custom = kc.makeApiClient(CustomObjectsApi);
const core = kc.makeApiClient(CoreV1Api);
const where = { group: 'berth.dev', version: 'v1alpha1', namespace: 'default', plural: 'images' };

async function node(name: string, ready: boolean): Promise<void> {
  const existing = await core.readNode({ name }).catch(() => undefined);
  const created = existing ?? (await core.createNode({ body: { metadata: { name } } }));
  await core.replaceNodeStatus({
    name,
    body: {
      ...created,
      ...(existing !== undefined ? { metadata: existing.metadata } : {}),
      status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: 'Test', message: 'test' }] },
    },
  });
}
const build = (name: string, extra: Record<string, unknown> = {}) =>
  custom.createNamespacedCustomObject({
    ...where,
    body: {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Image',
      metadata: { name },
      spec: { image: `127.0.0.1:5000/demo/${name}:1`, build: { contextConfigMap: { name: 'ctx' }, ...extra } },
    },
  });
async function imageWhen(name: string, pred: (i: Image) => boolean): Promise<Image> {
  let last: Image | undefined;
  await eventually(async () => {
    last = (await custom.getNamespacedCustomObject({ ...where, name })) as Image;
    return pred(last);
  }, 15_000);
  return last as Image;
}

t.test('no Ready node: the build waits and says why', async (t) => {
  await node('builder-a', false);
  await build('waiting');
  const image = await imageWhen('waiting', (i) => i.status?.phase === 'Pending');
  t.equal(image.status?.message, '0 nodes are available to build on');
  t.equal(image.status?.nodeName, undefined);
});

t.test('a Ready node gets the build; when it stops being Ready first, another does', async (t) => {
  await node('builder-a', true);
  const bound = await imageWhen('waiting', (i) => i.status?.nodeName !== undefined);
  t.equal(bound.status?.nodeName, 'builder-a', 'the Node turning Ready binds the waiting build');
  t.equal(bound.status?.phase, 'Pending');
  await node('builder-b', true);
  await node('builder-a', false);
  const moved = await imageWhen('waiting', (i) => i.status?.nodeName === 'builder-b');
  t.equal(moved.status?.message, 'build bound to node builder-b');
});

t.test('a build that names its node is left to that node', async (t) => {
  await build('pinned', { nodeName: 'builder-a' });
  await build('free');
  await imageWhen('free', (i) => i.status?.nodeName === 'builder-b');
  const pinned = (await custom.getNamespacedCustomObject({ ...where, name: 'pinned' })) as Image;
  t.equal(pinned.status, undefined, 'the controller wrote nothing for it');
});
