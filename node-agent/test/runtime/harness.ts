// Shared set-up for tests that run real containers: a prepared host, a throwaway data root, cleanup of everything started.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { prepareHost, type HostReport } from '../../src/host/prepare-host.js';
import { ConmonRuntime } from '../../src/runtime/conmon-runtime.js';
import type { ContainerConfig, ContainerState } from '../../src/runtime/runtime.js';
import { makeDataRoot } from '@berth/testkit';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Harness {
  readonly host: HostReport;
  readonly rt: ConmonRuntime;
  readonly root: string;
  readonly runtimeRoot: string;
  /** A fresh id (cgroups are host-wide, so ids must not collide across parallel test files) with its rootfs ready. */
  newId(prefix: string): Promise<string>;
  run(prefix: string, config: ContainerConfig): Promise<ContainerState>;
  waitFor(id: string, pred: (s: ContainerState) => boolean, timeoutMs?: number): Promise<ContainerState>;
  logText(id: string): Promise<string>;
}

export async function setUp(t: Teardown): Promise<Harness> {
  const host = await prepareHost();
  const d = await makeDataRoot();
  const rt = new ConmonRuntime({ host, root: d.root, runtimeRoot: d.runtimeRoot });
  const ids: string[] = [];
  t.teardown(async () => {
    for (const id of ids) await rt.delete(id, { force: true }).catch(() => undefined);
    await d.cleanup();
  });
  const h: Harness = {
    host,
    rt,
    root: d.root,
    runtimeRoot: d.runtimeRoot,
    async newId(prefix: string): Promise<string> {
      const id = `${prefix}-${randomBytes(4).toString('hex')}`;
      ids.push(id);
      await d.rootfsFor(id);
      return id;
    },
    async run(prefix: string, config: ContainerConfig): Promise<ContainerState> {
      return rt.run(await h.newId(prefix), config);
    },
    async waitFor(id, pred, timeoutMs = 10_000): Promise<ContainerState> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await rt.state(id);
        if (pred(s) || Date.now() > deadline) return s;
        await sleep(20);
      }
    },
    async logText(id: string): Promise<string> {
      return readFile(rt.logPath(id), 'utf8').catch(() => '');
    },
  };
  return h;
}
