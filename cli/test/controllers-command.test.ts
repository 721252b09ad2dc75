// `berth controllers`: the controller manager alone against an API server that runs none. Two of them run; one
// holds the Lease kube-system/berth-controller-manager and acts (its scheduler binds a Container), and when it
// stops (SIGTERM releases the Lease) the other takes over and binds the next one.
import { spawn, type ChildProcess } from 'node:child_process';
import t from 'tap';
import { eventually, request, startTestServer } from '@berth/testkit';
import { berthMain } from './berth-process.js';

const ts = await startTestServer({ controllers: false });
t.teardown(() => ts.close());

const json = (body: unknown) => ({ body: JSON.stringify(body), contentType: 'application/json' });
const base = '/apis/berth.dev/v1alpha1/namespaces/default/containers';

function startControllers(): Promise<{ child: ChildProcess; identity: string }> {
  const child = spawn(
    process.execPath,
    [berthMain, 'controllers', '--kubeconfig', ts.kubeconfig, '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /started \(identity (\S+)\)/.exec(out);
      if (m !== null) resolve({ child, identity: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`berth controllers exited with ${code}: ${out}`)));
  });
}

const holder = async () =>
  (
    await request(ts, 'GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/berth-controller-manager')
  ).json<{ spec?: { holderIdentity?: string } }>().spec?.holderIdentity ?? '';

async function bound(name: string): Promise<boolean> {
  const res = await request(
    ts,
    'POST',
    base,
    json({ apiVersion: 'berth.dev/v1alpha1', kind: 'Container', metadata: { name }, spec: { image: 'busybox' } }),
  );
  if (res.status !== 201) throw new Error(res.text);
  return eventually(
    async () =>
      (await request(ts, 'GET', `${base}/${name}`)).json<{ spec: { nodeName?: string } }>().spec.nodeName === 'n1',
    40_000,
  );
}

t.test('two controller managers, one acts; the other takes over when it stops', async (t) => {
  const res = await request(
    ts,
    'POST',
    '/api/v1/nodes',
    json({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1' },
      status: { allocatable: { cpu: '2', memory: '1Gi' }, conditions: [{ type: 'Ready', status: 'True' }] },
    }),
  );
  t.equal(res.status, 201, res.text);
  const [first, second] = await Promise.all([startControllers(), startControllers()]);
  t.ok(await eventually(async () => (await holder()) !== '', 30_000), 'one holds the Lease');
  const leader = await holder();
  t.ok(await bound('first'), "the leader's scheduler binds");
  // SIGTERM the holder: it releases the Lease and the other one, caches warm, takes over.
  const [acting, waiting] = leader === first.identity ? [first, second] : [second, first];
  t.equal(acting.identity, leader, 'the holder is one of the two');
  const exited = new Promise((resolve) => acting.child.once('exit', resolve));
  acting.child.kill('SIGTERM');
  await exited;
  t.ok(await eventually(async () => (await holder()) === waiting.identity, 40_000), 'the other holds it now');
  t.ok(await bound('second'), 'and binds');
  waiting.child.kill('SIGTERM');
});
