// "Agent restart": containers outlive a SIGKILLed agent (conmon is their parent) and a new runtime re-adopts them.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { ConmonRuntime } from '../../src/runtime/conmon-runtime.js';
import type { ContainerState } from '../../src/runtime/runtime.js';
import { setUp } from './harness.js';

const h = await setUp(t);

t.test(
  'kill -9 the agent: containers keep running, same pids, logs continue; a new runtime manages them',
  async (t) => {
    const ids = [await h.newId('survive-a'), await h.newId('survive-b'), await h.newId('survive-c')];
    const child = spawn(
      process.execPath,
      [
        '--import=tsx',
        '--conditions=berth-src',
        path.join(path.dirname(fileURLToPath(import.meta.url)), 'agent-child.ts'),
        h.root,
        h.runtimeRoot,
        ...ids,
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
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    while (!out.includes('\n')) {
      if (child.exitCode !== null) break;
      await sleep(20);
    }
    const before = JSON.parse(out) as ContainerState[];
    t.equal(before.length, 3);
    t.ok(before.every((s) => s.status === 'running'));

    // The whole process group, as a crash or `kill -9` of a service would.
    process.kill(-(child.pid ?? 0), 'SIGKILL');
    await once(child, 'close');
    const logSizes = await Promise.all(ids.map(async (id) => (await readFile(h.rt.logPath(id), 'utf8')).length));
    await sleep(300);

    const fresh = new ConmonRuntime({ host: h.host, root: h.root, runtimeRoot: h.runtimeRoot });
    const after = await fresh.list();
    t.same(after.map((s) => s.id).sort(), [...ids].sort());
    for (const s of after) {
      const b = before.find((x) => x.id === s.id);
      t.equal(s.status, 'running', `${s.id} still running`);
      t.equal(s.pid, b?.pid, `${s.id} same pid`);
      t.equal(s.conmonPid, b?.conmonPid, `${s.id} same conmon`);
      t.equal(s.startedAt, b?.startedAt);
    }
    for (const [i, id] of ids.entries()) {
      const now = (await readFile(fresh.logPath(id), 'utf8')).length;
      t.ok(now > (logSizes[i] ?? 0), `${id} log kept growing without the agent`);
    }
    // The new instance can act on them: exec, stop, delete.
    const first = ids[0] ?? '';
    const e = await fresh.exec(first, { args: ['true'] });
    t.equal(await e.exitCode, 0);
    const stopped = await fresh.stop(first, 0);
    t.equal(stopped.status, 'exited');
    for (const id of ids) await fresh.delete(id, { force: true });
    t.same(await fresh.list(), []);
  },
);
