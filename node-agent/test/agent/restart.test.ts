// kill -9 the agent with 20 running containers and start it again: the same processes keep running, adopted as they
// are; what changed in the cluster meanwhile (a deletion, a Container gone for good) is caught up. Needs root.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { Container } from '@berth/api';
import { setUpCluster } from './harness.js';

const count = 20;
const cluster = await setUpCluster(t);
// A logger does not cross a process boundary; the child makes its own.
const { logger: _logger, ...childOptions } = cluster.agentOptions;

function startChild(): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      '--import=tsx',
      '--conditions=berth-src',
      path.join(path.dirname(fileURLToPath(import.meta.url)), 'agent-child.ts'),
      JSON.stringify(childOptions),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    },
  );
  t.teardown(() => {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // already gone
    }
  });
  return child;
}

async function ready(child: ChildProcess): Promise<void> {
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString('utf8')));
  while (!out.includes('ready\n')) {
    if (child.exitCode !== null) throw new Error(`agent child exited with ${child.exitCode}`);
    await sleep(20);
  }
}

const alive = async (pid: number) => (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')) !== '';

t.test(`kill -9 the agent with ${count} running containers: same pids, still Running, logs continue`, async (t) => {
  const child = startChild();
  await ready(child);
  const names = Array.from({ length: count }, (_, i) => `keep-${i}`);
  const started = Date.now();
  await Promise.all(
    names.map((n) =>
      cluster.create(n, {
        command: ['sh', '-c', 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.1; done'],
        terminationGracePeriodSeconds: 1,
      }),
    ),
  );
  const before = new Map<string, Container>();
  for (const n of names) before.set(n, await cluster.waitFor(n, (c) => c.status?.phase === 'Running', 60_000));
  t.ok(
    names.every((n) => before.get(n)?.status?.phase === 'Running'),
    `${count} Running in ${Date.now() - started} ms`,
  );

  await cluster.create('deleted-while-down', { command: ['sleep', '3600'], terminationGracePeriodSeconds: 1 });
  await cluster.create('forced-while-down', { command: ['sleep', '3600'], terminationGracePeriodSeconds: 1 });
  const deleted = await cluster.waitFor('deleted-while-down', (c) => c.status?.phase === 'Running');
  const forced = await cluster.waitFor('forced-while-down', (c) => c.status?.phase === 'Running');

  // The whole process group, as a crash or `kill -9` of the service would.
  process.kill(-(child.pid ?? 0), 'SIGKILL');
  await once(child, 'close');
  for (const n of names) t.ok(await alive(before.get(n)?.status?.pid ?? 0), `${n} survived the agent`);

  // While the agent is down: one Container is deleted (the finalizer holds it), one is force-removed.
  await cluster.remove('deleted-while-down');
  await cluster.custom.patchNamespacedCustomObject({
    group: 'berth.dev',
    version: 'v1alpha1',
    namespace: 'default',
    plural: 'containers',
    name: 'forced-while-down',
    body: [{ op: 'remove', path: '/metadata/finalizers' }],
  });
  await cluster.remove('forced-while-down');
  t.equal(await cluster.get('forced-while-down'), undefined, 'force-removed from the API');
  const logSizes = await Promise.all(
    names.map(
      async (n) =>
        (await stat(path.join(cluster.root, 'containers', before.get(n)?.metadata.uid ?? '', 'container.log'))).size,
    ),
  );
  await sleep(300);

  const restarted = Date.now();
  const agent = await cluster.startAgent();
  t.ok(await cluster.waitGone('deleted-while-down', 15_000), 'the deletion made while the agent was down completed');
  t.notOk(await alive(deleted.status?.pid ?? 0), 'its process was stopped');
  t.notOk(await alive(forced.status?.pid ?? 0), 'the orphan of the force-removed Container was stopped');
  await t.rejects(
    stat(path.join(cluster.root, 'containers', forced.metadata.uid ?? '')),
    { code: 'ENOENT' },
    'and its files removed',
  );
  await sleep(500);
  for (const n of names) {
    const b = before.get(n);
    const now = await cluster.get(n);
    t.equal(now?.status?.phase, 'Running', `${n} Running`);
    t.equal(now?.status?.pid, b?.status?.pid, `${n} same pid`);
    t.equal(now?.status?.restartCount, 0, `${n} not restarted`);
    t.equal(agent.lookup('default', n), b?.metadata.uid);
  }
  for (const [i, n] of names.entries()) {
    const size = (await stat(path.join(cluster.root, 'containers', before.get(n)?.metadata.uid ?? '', 'container.log')))
      .size;
    t.ok(size > (logSizes[i] ?? 0), `${n} log kept growing`);
  }
  t.comment(`re-adoption took ${Date.now() - restarted} ms`);

  // The adopted containers are managed as before: an exit is noticed and restarted.
  const victim = before.get('keep-0')?.status?.pid ?? 0;
  process.kill(victim, 'SIGKILL');
  const again = await cluster.waitFor(
    'keep-0',
    (c) => (c.status?.restartCount ?? 0) >= 1 && c.status?.phase === 'Running',
    15_000,
  );
  t.equal(again.status?.restartCount, 1, 'a killed adopted container is restarted');
  t.not(again.status?.pid, victim);
});
