// Test fixture: a real node agent (conmon + crun, overlayfs, a bridge of its own) on a throwaway data root against
// a test API server, for tests of controllers whose Containers must really run. It binds unbound Containers to
// itself (`adoptUnbound`) unless told otherwise, so it works with or without a scheduler.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
// Loaded when an agent starts: files that import testkit for a server alone do not pay for the agent's modules.
import type { NodeAgent, NodeAgentOptions } from '@berth/node-agent';
import { KubeConfig, CustomObjectsApi } from '@kubernetes/client-node';
import type { TestServer } from './api-server.js';
import type { Teardown } from './teardown.js';

const run = promisify(execFile);

export interface TestAgent {
  readonly agent: NodeAgent;
  readonly nodeName: string;
  readonly root: string;
}

/**
 * Starts a node agent for `server`. On teardown every Container is deleted through the API while the agent still
 * runs (so it stops them as a node would), then the agent closes, then whatever is left goes the hard way.
 * Stop controllers that would recreate Containers before this teardown runs (tap runs teardowns last-in first).
 */
export async function startTestAgent(
  t: Teardown,
  server: TestServer,
  extra: Partial<NodeAgentOptions> = {},
): Promise<TestAgent> {
  const root = await mkdtemp(path.join(tmpdir(), 'berth-agent-'));
  const hex = randomBytes(3).toString('hex');
  const nodeName = extra.nodeName ?? `node-${hex}`;
  const bridge = `bt${hex}`;
  const runtimeRoot = path.join(root, 'run');
  const options: NodeAgentOptions = {
    kubeconfig: server.kubeconfig,
    nodeName,
    root,
    runtimeRoot,
    netnsDir: path.join(root, 'netns'),
    ipamDir: path.join(root, 'ipam'),
    defaultNetwork: { name: `test-${hex}`, bridge, subnet: `10.213.${randomBytes(1)[0] ?? 0}.0/24` },
    adoptUnbound: true,
    restartBackoff: { baseMs: 300, maxMs: 2_000 },
    retryBackoff: { baseMs: 300, maxMs: 2_000 },
    pollIntervalMs: 2_000,
    serveStreaming: false,
    logLevel: 'silent',
    ...extra,
  };
  const agent = await (await import('@berth/node-agent')).startNodeAgent(options);
  t.teardown(async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfig);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const where = { group: 'berth.dev', version: 'v1alpha1', plural: 'containers' };
    const list = async () =>
      (
        (await custom.listCustomObjectForAllNamespaces(where).catch(() => ({ items: [] }))) as {
          items: { metadata: { name: string; namespace: string } }[];
        }
      ).items;
    for (const c of await list())
      await custom
        .deleteNamespacedCustomObject({ ...where, namespace: c.metadata.namespace, name: c.metadata.name })
        .catch(() => undefined);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await list()).length > 0) await sleep(100);
    await agent.close();
    // Whatever is still there (a test that failed half-way) goes the hard way.
    const ids = (await run('crun', ['--root', runtimeRoot, 'list', '-q']).catch(() => ({ stdout: '' }))).stdout;
    for (const id of ids.split('\n').filter((l) => l.trim() !== ''))
      await run('crun', ['--root', runtimeRoot, 'delete', '-f', id.trim()]).catch(() => undefined);
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .map((l) => l.split(' ')[4] ?? '')
      .filter((m) => m.startsWith(`${root}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
    await run('ip', ['link', 'del', bridge]).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });
  return { agent, nodeName, root };
}
