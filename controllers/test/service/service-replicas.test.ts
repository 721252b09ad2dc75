// The service controller with real containers: `kubectl apply` of a Service gives it Ready replicas it owns and
// names `<service>-<hash>-<suffix>`, each serving; `kubectl scale` up and down converges through the scale
// subresource; status and the revision are recorded; Containers matching the selector are adopted and ones that
// stop matching are released; a restarted controller finding nothing to do writes nothing.
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { parseAllDocuments } from 'yaml';
import type { Container } from '@berth/api';
import { eventually, request } from '@berth/testkit';
import { revisionAnnotation, templateHashLabel } from '../../src/index.js';
import { httpdService, isReady, setUpServiceCluster } from './cluster.js';

const c = await setUpServiceCluster(t);
const owned = (cs: Container[], uid: string) =>
  cs.filter((x) => x.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller === true));

t.test('kubectl apply: all replicas Running and Ready, owned, named by hash, each serving', async (t) => {
  await c.namespace('svc-apply');
  const applied = await c.apply(httpdService(c.image, 'web', 'svc-apply'));
  t.equal(applied.code, 0, applied.stderr);
  t.ok(
    await eventually(async () => {
      const s = await c.service('svc-apply', 'web');
      return s.status?.readyReplicas === 3 && s.status.availableReplicas === 3 && s.status.updatedReplicas === 3;
    }, 90_000),
    'three replicas Ready and available',
  );
  const svc = await c.service('svc-apply', 'web');
  const hash = svc.status?.updateRevision ?? '';
  t.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  const cs = await c.containers('svc-apply');
  t.equal(cs.length, 3);
  for (const x of cs) {
    t.match(x.metadata.name, new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    t.equal(x.metadata.labels?.[templateHashLabel], hash);
    t.equal(x.metadata.labels?.['app'], 'web');
    t.same(x.metadata.ownerReferences, [
      {
        apiVersion: 'berth.dev/v1alpha1',
        kind: 'Service',
        name: 'web',
        uid: svc.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    t.ok(x.spec.nodeName, 'bound to a node');
    t.equal(x.status?.phase, 'Running');
    t.ok(isReady(x));
    const ip = x.status?.ips?.[0]?.ip;
    t.ok(ip, 'has an IP');
    const body = await fetch(`http://${ip}/`).then((r) => r.text());
    t.equal(body.trim(), x.metadata.name, 'the replica serves its own name');
  }
  t.equal(svc.status?.replicas, 3);
  t.equal(svc.status?.observedGeneration, svc.metadata.generation);
  t.equal(svc.status?.selector, 'app=web');
  t.equal(svc.status?.currentRevision, hash);
  t.equal(svc.metadata.annotations?.[revisionAnnotation], '1');
  const cond = (type: string) => svc.status?.conditions?.find((x) => x.type === type);
  t.match(cond('Available'), { status: 'True', reason: 'MinimumReplicasAvailable' });
  t.match(cond('Progressing'), { status: 'True', reason: 'NewRevisionAvailable' });
  // The revision: a ConfigMap owned by the Service with the template.
  const cm = await c.kubectl(['get', 'configmap', `web-${hash}`, '-n', 'svc-apply', '-o', 'json']);
  t.equal(cm.code, 0, cm.stderr);
  const rev = JSON.parse(cm.stdout) as {
    metadata: { annotations: Record<string, string>; ownerReferences: unknown[] };
    data: Record<string, string>;
  };
  t.equal(rev.metadata.annotations[revisionAnnotation], '1');
  t.same(JSON.parse(rev.data['template.json'] ?? '{}'), svc.spec.template);
  t.match(rev.metadata.ownerReferences, [{ kind: 'Service', name: 'web', uid: svc.metadata.uid, controller: true }]);
  // kubectl get shows the columns.
  const get = await c.kubectl(['get', 'services.berth.dev', '-n', 'svc-apply']);
  t.match(get.stdout, /web\s+3\s+3\s+3\s+3\s/);
  const events = await c.kubectl(['get', 'events', '-n', 'svc-apply', '--field-selector', 'involvedObject.name=web']);
  t.match(events.stdout, /SuccessfulCreate/);
});

t.test('kubectl scale --replicas=5 then =1 converges through the scale subresource', async (t) => {
  await c.namespace('svc-scale');
  t.equal((await c.apply(httpdService(c.image, 'api', 'svc-scale', { replicas: 2 }))).code, 0);
  const settled = (n: number) =>
    eventually(async () => {
      const s = await c.service('svc-scale', 'api');
      const cs = await c.containers('svc-scale');
      return s.status?.readyReplicas === n && s.status.replicas === n && cs.length === n && cs.every(isReady);
    }, 90_000);
  t.ok(await settled(2), 'two Ready');
  const scaleUp = await c.kubectl(['scale', 'service/api', '-n', 'svc-scale', '--replicas=5']);
  t.equal(scaleUp.code, 0, scaleUp.stderr);
  t.match(scaleUp.stdout, /scaled/);
  t.ok(await settled(5), 'five Ready');
  const scale = await request(c.ts, 'GET', '/apis/berth.dev/v1alpha1/namespaces/svc-scale/services/api/scale');
  t.match(scale.json(), { kind: 'Scale', spec: { replicas: 5 }, status: { replicas: 5, selector: 'app=api' } });
  t.equal((await c.kubectl(['scale', 'service/api', '-n', 'svc-scale', '--replicas=1'])).code, 0);
  t.ok(await settled(1), 'one left');
  t.ok(
    await eventually(async () => (await c.containers('svc-scale', true)).length === 1, 60_000),
    'the others are gone',
  );
  t.equal((await c.kubectl(['scale', 'service/api', '-n', 'svc-scale', '--replicas=0'])).code, 0);
  t.ok(
    await eventually(async () => {
      const s = await c.service('svc-scale', 'api');
      return s.status?.replicas === 0 && (await c.containers('svc-scale', true)).length === 0;
    }, 60_000),
    'scaled to zero',
  );
});

t.test('adopts a matching orphan, releases a replica that stops matching', async (t) => {
  await c.namespace('svc-adopt');
  const bare = {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: { name: 'stray', namespace: 'svc-adopt', labels: { app: 'keep' } },
    spec: { image: c.image, command: ['sleep', '3600'], terminationGracePeriodSeconds: 1 },
  };
  t.equal((await c.apply(bare)).code, 0);
  t.equal((await c.apply(httpdService(c.image, 'keep', 'svc-adopt', { replicas: 2 }))).code, 0);
  const svc = await c.service('svc-adopt', 'keep');
  t.ok(
    await eventually(async () => {
      const cs = await c.containers('svc-adopt', true);
      return cs.find((x) => x.metadata.name === 'stray')?.metadata.ownerReferences?.[0]?.uid === svc.metadata.uid;
    }, 30_000),
    'the stray Container is adopted',
  );
  // It was not made from the template: it is rolled over like an old replica.
  t.ok(
    await eventually(async () => {
      const s = await c.service('svc-adopt', 'keep');
      const cs = await c.containers('svc-adopt', true);
      return (
        s.status?.updatedReplicas === 2 &&
        s.status.availableReplicas === 2 &&
        cs.length === 2 &&
        cs.every((x) => x.metadata.labels?.[templateHashLabel] === s.status?.updateRevision)
      );
    }, 90_000),
    'replaced by replicas of the template',
  );
  const victim = (await c.containers('svc-adopt'))[0]!;
  const relabel = await c.kubectl([
    'label',
    'containers.berth.dev',
    victim.metadata.name ?? '',
    '-n',
    'svc-adopt',
    'app=gone',
    '--overwrite',
  ]);
  t.equal(relabel.code, 0, relabel.stderr);
  t.ok(
    await eventually(async () => {
      const cs = await c.containers('svc-adopt');
      const v = cs.find((x) => x.metadata.name === victim.metadata.name);
      return (
        (v?.metadata.ownerReferences ?? []).length === 0 &&
        owned(cs, svc.metadata.uid ?? '').filter(isReady).length === 2
      );
    }, 90_000),
    'released, and replaced',
  );
  const events = await c.kubectl(['get', 'events', '-n', 'svc-adopt', '--field-selector', 'involvedObject.name=keep']);
  t.match(events.stdout, /Adopted/);
  t.match(events.stdout, /Released/);
  await c.kubectl(['delete', 'containers.berth.dev', victim.metadata.name ?? '', '-n', 'svc-adopt', '--wait=false']);
});

t.test('a restarted controller finding everything as it should be writes nothing', async (t) => {
  await c.namespace('svc-resync');
  t.equal((await c.apply(httpdService(c.image, 'calm', 'svc-resync', { replicas: 3 }))).code, 0);
  t.ok(await eventually(async () => (await c.service('svc-resync', 'calm')).status?.availableReplicas === 3, 90_000));
  // Let the last status write land, then take a snapshot of every resourceVersion.
  const snapshot = async () => {
    const s = await c.service('svc-resync', 'calm');
    const cs = await c.containers('svc-resync', true);
    return [s.metadata.resourceVersion, ...cs.map((x) => `${x.metadata.name}@${x.metadata.resourceVersion}`).sort()];
  };
  t.ok(
    await eventually(async () => {
      const a = await snapshot();
      const s = await c.service('svc-resync', 'calm');
      return (
        s.status?.conditions?.some((x) => x.reason === 'NewRevisionAvailable') === true &&
        JSON.stringify(a) === JSON.stringify(await snapshot())
      );
    }, 30_000),
  );
  const before = await snapshot();
  const ctl = await c.restartControllers();
  const service = ctl.controllers.get('service');
  const seen = new Promise<string>((resolve) => {
    service?.observe((req, outcome) => {
      if (req.namespace === 'svc-resync' && req.name === 'calm') resolve(outcome);
    });
  });
  // Whether or not the first pass came before the observer, this one comes after it.
  service?.enqueue({ namespace: 'svc-resync', name: 'calm' });
  t.equal(await seen, 'success', 'reconciled once more after the restart');
  t.same(await snapshot(), before, 'no object changed');
});

t.test("manifests/examples/demo.yaml's Service runs as its comments say", async (t) => {
  const text = await readFile(new URL('../../../manifests/examples/demo.yaml', import.meta.url), 'utf8');
  const docs = parseAllDocuments(text).map(
    (d) => d.toJS() as { kind: string; spec?: { template?: { spec: { image: string } } } },
  );
  const ns = docs.find((d) => d.kind === 'Namespace');
  const svc = docs.find((d) => d.kind === 'Service');
  t.ok(ns && svc);
  // The example pulls from `berth up`'s registry on :5000; this test's registry is on another port.
  const spec = svc!.spec!.template!.spec;
  spec.image = spec.image.replace('127.0.0.1:5000', c.registryAddress);
  t.equal((await c.apply(ns!, svc!)).code, 0);
  t.ok(
    await eventually(async () => (await c.service('demo', 'api')).status?.availableReplicas === 2, 90_000),
    'two replicas available',
  );
  const get = await c.kubectl(['get', 'svc', '-n', 'demo']);
  t.match(get.stdout, /^NAME\s+DESIRED\s+READY\s+UP-TO-DATE\s+AVAILABLE/m);
  t.match(get.stdout, /^api\s+2\s+2\s+2\s+2\s/m);
  const hash = (await c.service('demo', 'api')).status?.updateRevision ?? '';
  for (const x of await c.containers('demo')) {
    t.match(x.metadata.name, new RegExp(`^api-${hash}-`));
    const body = await fetch(`http://${x.status?.ips?.[0]?.ip}/`).then((r) => r.text());
    t.equal(body.trim(), x.metadata.name, 'serves its own name');
  }
  t.equal((await c.kubectl(['scale', 'service/api', '-n', 'demo', '--replicas=4'])).code, 0);
  t.ok(
    await eventually(async () => (await c.service('demo', 'api')).status?.availableReplicas === 4, 90_000),
    'scaled to four',
  );
});
