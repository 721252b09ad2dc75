// The node authorizer graph's shortcut for Containers stored unbound: an entry read from the storage key alone, the
// same as the one parsed from the value, and taken only when the value cannot bind the Container or name an image.
import t from 'tap';
import { containerEntry, unboundContainerEntry } from '../../src/authorization/node/node-graph.js';
import type { KubeObject } from '../../src/objects/object.js';

const key = '/registry/berth.dev/containers/team-a/web-1';
const container = (spec: object, extra: object = {}) =>
  JSON.stringify({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name: 'web-1', namespace: 'team-a', uid: 'u1' },
    spec: { image: 'busybox', ...spec },
    ...extra,
  });

t.test('an unbound Container without an image recorded: the entry from the key is the parsed one', async (t) => {
  for (const value of [
    container({}),
    container({ env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }),
    container({}, { status: { phase: 'Pending' } }),
  ]) {
    const quick = unboundContainerEntry(key, value);
    t.ok(quick !== undefined, 'taken without parsing');
    t.same(quick, containerEntry(JSON.parse(value) as KubeObject));
  }
});

t.test('anything that may bind it or name an image is parsed', async (t) => {
  for (const value of [
    container({ nodeName: 'node-a', volumes: [{ name: 'v', secret: { secretName: 's' } }] }),
    container({}, { status: { imageID: 'busybox@sha256:00' } }),
    // A key of that name anywhere else (an annotation): parsed too, never wrong.
    container({}, { metadata: { name: 'web-1', namespace: 'team-a', annotations: { nodeName: 'x' } } }),
  ])
    t.equal(unboundContainerEntry(key, value), undefined);
  t.equal(unboundContainerEntry('/registry/berth.dev/images/team-a/x', container({})), undefined, 'not a Container');
  t.equal(unboundContainerEntry('/registry/berth.dev/containers/team-a', container({})), undefined, 'no name');
});
