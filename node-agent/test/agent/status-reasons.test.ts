// What `kubectl get` tells a user about a Container that is not simply Running, as for Pods: a crash loop is
// CrashLoopBackOff, a missing image ErrImagePull then ImagePullBackOff, an OOM kill OOMKilled, a clean exit
// Completed, a failing one Error — in status.reason, the Running/Ready conditions and the printed table.
// Real crun, conmon, registry and API server; needs root.
import { PassThrough } from 'node:stream';
import { Watch } from '@kubernetes/client-node';
import { pino } from 'pino';
import t from 'tap';
import type { Container } from '@berth/api';
import { setUpCluster } from './harness.js';

const cluster = await setUpCluster(t);
// The agent logs through the pino logger it is given (as `berth up` gives its own): JSON lines, with levels.
const logStream = new PassThrough();
const logLines: Array<Record<string, unknown>> = [];
let partial = '';
logStream.on('data', (b: Buffer) => {
  const text = partial + b.toString('utf8');
  const lines = text.split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) logLines.push(JSON.parse(line) as Record<string, unknown>);
});
await cluster.startAgent({ logger: pino({ level: 'info' }, logStream) });

/** Every distinct status.reason of each Container, in the order a watch saw them. */
const reasons = new Map<string, string[]>();
const watch = await new Watch(cluster.kc).watch(
  '/apis/berth.dev/v1alpha1/containers',
  {},
  (_type: string, obj: Container) => {
    const list = reasons.get(obj.metadata.name ?? '') ?? [];
    const reason = obj.status?.reason ?? '';
    if (reason !== '' && list[list.length - 1] !== reason) list.push(reason);
    reasons.set(obj.metadata.name ?? '', list);
  },
  () => undefined,
);
t.teardown(() => watch.abort());

/** The STATUS cell `kubectl get ctr NAME` prints for it (NAME IMAGE STATUS …), as `kubectl get pods` shows a Pod's. */
async function row(name: string): Promise<string> {
  const out = await cluster.server.kubectl(['get', 'ctr', name, '--no-headers']);
  return out.stdout.trim().split(/\s+/)[2] ?? '';
}

/** The STATUS cell once it says `expected` (a crash loop passes through Running between back-offs), or the last seen. */
async function statusBecomes(name: string, expected: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let seen = await row(name);
  while (seen !== expected && Date.now() < deadline) seen = await row(name);
  return seen;
}

const condition = (c: Container, type: string) => c.status?.conditions?.find((x) => x.type === type);

t.test('a crash-looping busybox shows CrashLoopBackOff, with the exit code of its last run', async (t) => {
  await cluster.create('crashloop', { command: ['sh', '-c', 'exit 3'], restartPolicy: 'Always' });
  const c = await cluster.waitFor(
    'crashloop',
    (x) => x.status?.reason === 'CrashLoopBackOff' && (x.status.restartCount ?? 0) >= 1,
    30_000,
  );
  t.equal(c.status?.reason, 'CrashLoopBackOff');
  t.equal(c.status?.exitCode, 3);
  t.equal(condition(c, 'Running')?.reason, 'CrashLoopBackOff');
  t.equal(condition(c, 'Ready')?.status, 'False');
  t.equal(await statusBecomes('crashloop', 'CrashLoopBackOff'), 'CrashLoopBackOff', 'kubectl get shows it as STATUS');
  await cluster.remove('crashloop');
});

t.test('a missing image shows ErrImagePull, then ImagePullBackOff while the queue backs off', async (t) => {
  await cluster.create('noimage', { image: `${cluster.registryAddress}/library/does-not-exist:1` });
  const c = await cluster.waitFor('noimage', (x) => x.status?.reason === 'ImagePullBackOff', 20_000);
  t.equal(c.status?.phase, 'Pending');
  t.match(c.status?.message, /does-not-exist/);
  t.equal(condition(c, 'Pulled')?.status, 'False');
  t.equal(condition(c, 'Ready')?.reason, 'ImagePullBackOff');
  t.same(
    (reasons.get('noimage') ?? []).filter((r) => r !== 'Pulling').slice(0, 2),
    ['ErrImagePull', 'ImagePullBackOff'],
    'a watch saw ErrImagePull first',
  );
  t.equal(await row('noimage'), 'ImagePullBackOff', 'kubectl get shows it as STATUS');
  const logged = logLines.find((l) => l.request === 'default/noimage' && l.msg === 'reconcile failed');
  t.ok(
    typeof logged?.level === 'number' && typeof logged.retryInMs === 'number',
    'the back-off is logged as a JSON line with its level and delay',
  );
  t.equal(logged?.component, 'berth-node-agent');
  await cluster.remove('noimage');
});

t.test(
  'an OOM-killed container shows OOMKilled (memory.oom_control oom_kill), then CrashLoopBackOff under Always',
  async (t) => {
    await cluster.create('oom', {
      command: ['sh', '-c', 'x=0123456789; while true; do x="$x$x"; done'],
      resources: { limits: { memory: '16Mi' } },
      restartPolicy: 'Never',
    });
    const c = await cluster.waitFor('oom', (x) => x.status?.phase === 'Failed', 30_000);
    t.equal(c.status?.reason, 'OOMKilled');
    t.equal(c.status?.exitCode, 137);
    t.equal(condition(c, 'Running')?.reason, 'OOMKilled');
    t.equal(await row('oom'), 'OOMKilled', 'kubectl get shows it as STATUS');

    await cluster.create('oom-loop', {
      command: ['sh', '-c', 'x=0123456789; while true; do x="$x$x"; done'],
      resources: { limits: { memory: '16Mi' } },
      restartPolicy: 'Always',
    });
    const loop = await cluster.waitFor('oom-loop', (x) => x.status?.reason === 'CrashLoopBackOff', 30_000);
    t.match(loop.status?.message, /out of memory/, `the back-off says why: ${loop.status?.message ?? ''}`);
    await cluster.remove('oom');
    await cluster.remove('oom-loop');
  },
);

t.test('exit 0 is Completed, a non-zero exit is Error', async (t) => {
  await cluster.create('ok', { command: ['true'], restartPolicy: 'Never' });
  await cluster.create('fails', { command: ['sh', '-c', 'exit 1'], restartPolicy: 'Never' });
  const ok = await cluster.waitFor('ok', (x) => x.status?.phase === 'Succeeded');
  const fails = await cluster.waitFor('fails', (x) => x.status?.phase === 'Failed');
  t.equal(ok.status?.reason, 'Completed');
  t.equal(fails.status?.reason, 'Error');
  t.equal(fails.status?.exitCode, 1);
  t.equal(await row('ok'), 'Completed', 'kubectl get shows Completed');
  t.equal(await row('fails'), 'Error', 'kubectl get shows Error');
});
