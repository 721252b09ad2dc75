// Probes as a kubelet runs them, on real busybox containers: an httpGet readiness probe sets and clears the Ready
// condition as a file appears and goes, an exec liveness probe restarts the container with kubelet's Events and a
// restart counted, a startup probe holds a liveness probe that would otherwise kill a slow starter, and
// initialDelaySeconds keeps a passing probe from counting early. Needs root.
import { CoreV1Api } from '@kubernetes/client-node';
import t from 'tap';
import type { Container, Probe } from '@berth/api';
import { eventually } from '@berth/testkit';
import type { NodeAgent } from '../../src/index.js';
import { execInContainer } from '../../src/probes/probe-exec.js';
import { runProbe } from '../../src/probes/probe-handlers.js';
import { setUpCluster } from '../agent/harness.js';

const cluster = await setUpCluster(t);
const agent = await cluster.startAgent();
const core = cluster.kc.makeApiClient(CoreV1Api);

const condition = (c: Container, type: string) => c.status?.conditions?.find((x) => x.type === type);
const ready = (c: Container) => c.status?.phase === 'Running' && condition(c, 'Ready')?.status === 'True';
const runningNotReady = (c: Container) => c.status?.phase === 'Running' && condition(c, 'Ready')?.status === 'False';

async function sh(a: NodeAgent, c: Container, script: string): Promise<number> {
  const s = await a.runtime.exec(c.metadata.uid ?? '', { args: ['sh', '-c', script] });
  const code = await s.exitCode;
  await s.close();
  return code;
}

async function events(name: string): Promise<Array<{ type: string; reason: string; message: string; count: number }>> {
  const list = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` });
  return list.items.map((e) => ({
    type: e.type ?? '',
    reason: e.reason ?? '',
    message: e.message ?? '',
    count: e.count ?? 1,
  }));
}

/** busybox httpd on port 80 serving /www, after `before` runs. */
const httpd = (before = 'true', extra: Record<string, unknown> = {}) => ({
  command: ['sh', '-c', `mkdir -p /www && echo ok > /www/index.html && ${before} && exec httpd -f -p 80 -h /www`],
  ports: [{ name: 'http', containerPort: 80 }],
  terminationGracePeriodSeconds: 1,
  ...extra,
});

t.test('a Container without probes is Ready once it runs', async (t) => {
  await cluster.create('plain', httpd());
  const c = await cluster.waitFor('plain', ready);
  t.ok(ready(c), 'Ready=True');
  t.equal(condition(c, 'Ready')?.reason, 'ContainerRunning');
});

t.test('an httpGet readiness probe: Ready follows the probed path, failures are Unhealthy Warnings', async (t) => {
  await cluster.create(
    'web',
    httpd('true', {
      readinessProbe: { httpGet: { path: '/ready.html', port: 'http' }, periodSeconds: 1, failureThreshold: 1 },
    }),
  );
  let c = await cluster.waitFor('web', (c) => c.status?.phase === 'Running');
  // The file does not exist yet: 404, not ready, however long it runs.
  c = await cluster.waitFor('web', (c) => condition(c, 'Ready')?.message?.includes('statuscode: 404') === true);
  t.ok(runningNotReady(c), 'running but not Ready while the probe gets 404');
  t.equal(condition(c, 'Ready')?.message, 'readiness probe failed: HTTP probe failed with statuscode: 404');
  t.equal(condition(c, 'Ready')?.reason, 'ReadinessProbeFailed');
  t.equal(await sh(agent, c, 'echo yes > /www/ready.html'), 0);
  c = await cluster.waitFor('web', ready, 10_000);
  t.ok(ready(c), 'Ready once the path answers 200');
  t.equal(await sh(agent, c, 'rm /www/ready.html'), 0);
  c = await cluster.waitFor('web', runningNotReady, 10_000);
  t.ok(runningNotReady(c), 'not Ready again after one failure (failureThreshold 1)');
  t.equal(c.status?.restartCount, 0, 'readiness never restarts');
  const ev = await events('web');
  t.ok(
    ev.some(
      (e) =>
        e.type === 'Warning' &&
        e.reason === 'Unhealthy' &&
        e.message === 'Readiness probe failed: HTTP probe failed with statuscode: 404',
    ),
    'Unhealthy Warning Event in kubelet words',
  );
});

t.test('an exec liveness probe that fails restarts the container, counted, with kubelet Events', async (t) => {
  await cluster.create(
    'alive',
    httpd('touch /tmp/alive', {
      livenessProbe: { exec: { command: ['test', '-f', '/tmp/alive'] }, periodSeconds: 1, failureThreshold: 2 },
    }),
  );
  let c = await cluster.waitFor('alive', ready);
  const firstStart = c.status?.startedAt;
  t.equal(await sh(agent, c, 'rm /tmp/alive'), 0);
  c = await cluster.waitFor('alive', (c) => (c.status?.restartCount ?? 0) >= 1 && ready(c), 20_000);
  t.equal(c.status?.restartCount, 1, 'restarted once');
  t.ok(ready(c), 'running and ready again (the command recreates the file)');
  t.not(c.status?.startedAt, undefined);
  t.ok(firstStart !== undefined, 'the first run had a start time');
  const ev = await events('alive');
  t.ok(
    ev.some((e) => e.type === 'Warning' && e.reason === 'Unhealthy' && e.message.startsWith('Liveness probe failed:')),
    'Unhealthy: Liveness probe failed',
  );
  t.ok(
    ev.some(
      (e) =>
        e.type === 'Normal' &&
        e.reason === 'Killing' &&
        e.message === 'Container alive failed liveness probe, will be restarted',
    ),
    'Killing: failed liveness probe, will be restarted',
  );
  // The new run is probed afresh: it stays alive.
  c = await cluster.waitFor('alive', (c) => (c.status?.restartCount ?? 0) > 1, 3_000);
  t.equal(c.status?.restartCount, 1, 'no further restarts while the probe passes');
});

t.test('a startup probe holds liveness and readiness until the slow starter listens', async (t) => {
  await cluster.create(
    'slow',
    httpd('sleep 3', {
      startupProbe: { tcpSocket: { port: 80 }, periodSeconds: 1, failureThreshold: 20 },
      // Would kill the container in its first seconds were it not held by the startup probe.
      livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1, failureThreshold: 1 },
      readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 1 },
    }),
  );
  let c = await cluster.waitFor('slow', (c) => c.status?.phase === 'Running');
  c = await cluster.waitFor('slow', runningNotReady);
  t.equal(condition(c, 'Ready')?.reason, 'StartupProbePending', 'not Ready while the startup probe has not passed');
  c = await cluster.waitFor('slow', ready, 20_000);
  t.ok(ready(c), 'Ready once it listens');
  t.equal(c.status?.restartCount, 0, 'the liveness probe never ran before startup succeeded');
});

t.test('initialDelaySeconds: a passing readiness probe counts only after the delay', async (t) => {
  await cluster.create(
    'delayed',
    httpd('true', { readinessProbe: { tcpSocket: { port: 80 }, initialDelaySeconds: 3, periodSeconds: 1 } }),
  );
  const c = await cluster.waitFor('delayed', ready, 20_000);
  const started = Date.parse(c.status?.startedAt ?? '');
  const readyAt = Date.parse(condition(c, 'Ready')?.lastTransitionTime ?? '');
  t.ok(readyAt - started >= 3_000, `Ready ${readyAt - started} ms after the start (≥ 3000)`);
});

t.test('a failing liveness probe with restartPolicy Never leaves the container Failed', async (t) => {
  await cluster.create(
    'never',
    httpd('true', {
      restartPolicy: 'Never',
      livenessProbe: { httpGet: { path: '/missing', port: 80 }, periodSeconds: 1, failureThreshold: 1 },
    }),
  );
  const c = await cluster.waitFor('never', (c) => c.status?.phase === 'Failed', 20_000);
  t.equal(c.status?.phase, 'Failed');
  t.equal(c.status?.restartCount, 0);
  const ev = await events('never');
  t.ok(ev.some((e) => e.reason === 'Killing' && e.message === 'Container never failed liveness probe'));
});

t.test('timeoutSeconds: an exec probe that outlives it fails, and its command does not pile up', async (t) => {
  await cluster.create('slowexec', {
    command: ['sleep', '3600'],
    terminationGracePeriodSeconds: 0,
    readinessProbe: { exec: { command: ['sleep', '30'] }, timeoutSeconds: 1, periodSeconds: 1, failureThreshold: 1 },
  });
  const c = await cluster.waitFor('slowexec', (c) => condition(c, 'Ready')?.message?.includes('timed out') === true);
  t.equal(condition(c, 'Ready')?.message, 'readiness probe failed: command "sleep 30" timed out');
  // Several periods later, at most the try in flight still runs: timed-out commands are hung up on.
  const unhealthy = async () =>
    (await events('slowexec')).filter((e) => e.reason === 'Unhealthy').reduce((n, e) => n + e.count, 0);
  t.ok(await eventually(async () => (await unhealthy()) >= 4, 20_000), 'four timed-out tries, as Unhealthy Events');
  const s = await agent.runtime.exec(c.metadata.uid ?? '', { args: ['ps'] });
  let out = '';
  s.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await s.exitCode;
  await s.close();
  t.ok(out.split('\n').filter((l) => l.includes('sleep 30')).length <= 1, `no pile-up:\n${out}`);
});

t.test('cost: one exec, httpGet and tcpSocket probe, timed', async (t) => {
  const c = await cluster.waitFor('plain', ready, 10_000);
  const exec = execInContainer(agent.runtime);
  const target = {
    container: c,
    ip: c.status?.ips?.[0]?.ip,
    exec: (args: readonly string[], timeoutMs: number) => exec(c.metadata.uid ?? '', args, timeoutMs),
  };
  const time = async (probe: Probe) => {
    const start = performance.now();
    for (let i = 0; i < 10; i++) t.equal((await runProbe(probe, target)).outcome, 'success');
    return Math.round((performance.now() - start) / 10);
  };
  const execMs = await time({ exec: { command: ['true'] } });
  const httpMs = await time({ httpGet: { path: '/', port: 80 } });
  const tcpMs = await time({ tcpSocket: { port: 80 } });
  t.comment(
    `per probe: exec ${execMs} ms (crun exec), httpGet ${httpMs} ms, tcpSocket ${tcpMs} ms (loaded machine: indicative)`,
  );
});
