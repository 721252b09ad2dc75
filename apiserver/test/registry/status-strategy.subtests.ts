// The main resource and /status are two strategies over the kind's hooks: the main one keeps the stored status,
// the status one keeps everything else, and each says so in its reset fields (what server-side apply skips).

import t from 'tap';
import type { KubeObject } from '../../src/objects/object.js';
import type { Resource } from '../../src/registry/resource.js';
import { writeStrategy } from '../../src/registry/status-strategy.js';
import type { Strategy } from '../../src/registry/strategy.js';

const calls: string[] = [];
const kind: Strategy = {
  prepareForCreate: (obj) => {
    calls.push(`create:${JSON.stringify(obj['status'] ?? null)}`);
  },
  prepareForUpdate: (next) => {
    calls.push(`update:${JSON.stringify(next['status'] ?? null)}`);
  },
  validate: () => [],
  warningsOnUpdate: () => ['from the kind'],
  returnsDeletedObject: true,
};
const resource = (status: boolean): Resource => ({ strategy: kind, subresources: { status } }) as unknown as Resource;

const stored = (): KubeObject => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Thing',
  metadata: { name: 'a', resourceVersion: '5', labels: { x: '1' } },
  spec: { replicas: 1 },
  extra: 'top-level',
  status: { ready: true },
});

t.test("the main strategy keeps the stored status, then runs the kind's hook", async (t) => {
  calls.length = 0;
  const s = writeStrategy(resource(true), 'main');
  const next: KubeObject = { ...stored(), spec: { replicas: 3 }, status: { ready: false, hacked: true } };
  s.prepareForUpdate?.(next, stored());
  t.same(next['spec'], { replicas: 3 }, 'spec changes');
  t.same(next['status'], { ready: true }, 'status is the stored one');
  t.same(calls, ['update:{"ready":true}'], 'the kind sees the kept status');
  t.same(s.getResetFields?.(), { fields: ['status'] });
  t.equal(s.returnsDeletedObject, true, "the kind's other hooks are kept");
  t.same(s.warningsOnUpdate?.(next, stored()), ['from the kind']);
});

t.test('the main strategy creates without status, before the kind fills its own', async (t) => {
  calls.length = 0;
  const obj: KubeObject = { ...stored() };
  writeStrategy(resource(true), 'main').prepareForCreate?.(obj);
  t.equal(obj['status'], undefined);
  t.same(calls, ['create:null']);
});

t.test("the status strategy keeps everything but status, and the caller's resourceVersion", async (t) => {
  calls.length = 0;
  const s = writeStrategy(resource(true), 'status');
  const next: KubeObject = {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Thing',
    metadata: { name: 'a', resourceVersion: '4', labels: { y: '2' } },
    spec: { replicas: 9 },
    status: { ready: false },
  };
  s.prepareForUpdate?.(next, stored());
  t.same(next, { ...stored(), metadata: { ...stored().metadata, resourceVersion: '4' }, status: { ready: false } });
  t.same(calls, [], "the kind's prepareForUpdate is for the main resource only");
  t.equal(s.prepareForCreate, undefined, 'nothing is created through /status');
  t.same(s.getResetFields?.(), { allBut: ['status'] });
  t.equal(typeof s.validate, 'function', 'the kind still validates status writes');
});

t.test('a kind without a status subresource writes through its own strategy', async (t) => {
  t.equal(writeStrategy(resource(false), 'main'), kind);
});

t.test('a kind that keeps status on create (Node) keeps it through the main strategy', async (t) => {
  const node = { strategy: { statusOnCreate: true }, subresources: { status: true } } as unknown as Resource;
  const obj: KubeObject = { ...stored() };
  writeStrategy(node, 'main').prepareForCreate?.(obj);
  t.same(obj['status'], { ready: true });
});
