// Container volumes → runtime mounts, without crun: which source each mount gets, readOnly from the mount, the
// volumeRef or the Volume's accessMode, an unbound Volume claimed before its directory is made, and the
// CreateContainerConfigError each bad reference becomes.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Container, ContainerSpec, Volume } from '@berth/api';
import { containerMounts, type VolumeSources } from '../../src/containers/container-volumes.js';
import { LocalVolumes } from '../../src/volumes/local.js';

const root = await mkdtemp(path.join(tmpdir(), 'berth-ctr-volumes-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
const volumes = new LocalVolumes(root);

const ctr = (spec: Partial<ContainerSpec>): Container => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Container',
  metadata: { name: 'c', namespace: 'ns', uid: 'u-1' },
  spec: { image: 'img', ...spec },
});
const vol = (name: string, extra: Partial<Volume> = {}): Volume => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Volume',
  metadata: { name, namespace: 'ns', uid: `v-${name}`, resourceVersion: '1' },
  ...extra,
});

function sources(objects: Volume[], claimOk = true): VolumeSources & { claimed: string[] } {
  const claimed: string[] = [];
  return {
    claimed,
    volume: async (n) => objects.find((v) => v.metadata.name === n),
    configMap: async () => undefined,
    secret: async () => undefined,
    claim: async (v) => {
      claimed.push(v.metadata.name ?? '');
      return claimOk;
    },
  };
}

const context = (s: VolumeSources) => ({ nodeName: 'n1', volumes, sources: s, hostPathPrefixes: [] });

t.test(
  'an unbound Volume is claimed, then its directory made; readOnly from the mount, volumeRef or accessMode',
  async (t) => {
    const s = sources([vol('a'), vol('b', { spec: { accessMode: 'ReadOnlyMany', nodeName: 'n1' } })]);
    const mounts = await containerMounts(
      ctr({
        volumes: [
          { name: 'a', volumeRef: { name: 'a' } },
          { name: 'ra', volumeRef: { name: 'a', readOnly: true } },
          { name: 'b', volumeRef: { name: 'b' } },
        ],
        volumeMounts: [
          { name: 'a', mountPath: '/a' },
          { name: 'a', mountPath: '/a-ro', readOnly: true },
          { name: 'ra', mountPath: '/ra' },
          { name: 'b', mountPath: '/b' },
        ],
      }),
      context(s),
    );
    t.same(
      mounts.map((m) => [m.destination, m.readOnly]),
      [
        ['/a', false],
        ['/a-ro', true],
        ['/ra', true],
        ['/b', true],
      ],
    );
    t.equal(mounts[0]?.source, volumes.dataDir('ns', 'a'));
    t.ok((await stat(volumes.dataDir('ns', 'a'))).isDirectory());
    t.same(s.claimed, ['a', 'a'], 'only the unbound Volume is claimed (once per entry naming it)');
  },
);

t.test('bad references are CreateContainerConfigErrors naming what is wrong', async (t) => {
  const cases: Array<[string, Partial<ContainerSpec>, Volume[], RegExp, boolean?]> = [
    ['missing', { volumes: [{ name: 'd', volumeRef: { name: 'nope' } }] }, [], /volume "nope" not found/],
    [
      'other node',
      { volumes: [{ name: 'd', volumeRef: { name: 'x' } }] },
      [vol('x', { status: { nodeName: 'n2' } })],
      /bound to node "n2", not this node "n1"/,
    ],
    [
      'being deleted',
      { volumes: [{ name: 'd', volumeRef: { name: 'x' } }] },
      [vol('x', { metadata: { name: 'x', deletionTimestamp: '2026-01-01T00:00:00Z' } })],
      /being deleted/,
    ],
    [
      'lost claim',
      { volumes: [{ name: 'd', volumeRef: { name: 'late' } }] },
      [vol('late')],
      /taken by another node/,
      false,
    ],
    ['not in volumes', { volumes: [] }, [], /"d" is not in spec.volumes/],
    ['hostPath off', { volumes: [{ name: 'd', hostPath: { path: '/etc' } }] }, [], /hostPath volumes are off/],
    ['missing ConfigMap', { volumes: [{ name: 'd', configMap: { name: 'cm' } }] }, [], /configmap "cm" not found/],
  ];
  for (const [what, spec, objects, message, claimOk] of cases) {
    await t.rejects(
      containerMounts(
        ctr({ ...spec, volumeMounts: [{ name: 'd', mountPath: '/d' }] }),
        context(sources(objects, claimOk ?? true)),
      ),
      { code: 'CreateContainerConfigError', message },
      what,
    );
  }
  await t.rejects(stat(volumes.dataDir('ns', 'late')), 'no directory for a Volume another node took');
});

t.test('an optional missing ConfigMap is an empty read-only directory', async (t) => {
  const mounts = await containerMounts(
    ctr({
      volumes: [{ name: 'd', configMap: { name: 'cm', optional: true } }],
      volumeMounts: [{ name: 'd', mountPath: '/d' }],
    }),
    context(sources([])),
  );
  t.equal(mounts[0]?.readOnly, true);
  t.equal(mounts[0]?.source, path.join(root, 'container-volumes', 'u-1', 'd'));
  await volumes.release('u-1');
});
