// Test fixture: berth as `berth up` runs it — a real API server with its controllers and one node agent (crun,
// conmon) taking every unbound Container — plus the loopback registry holding busybox. The agent's default network
// is a bridge and /24 of this cluster's own, so clusters of parallel test files never share addresses.

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
// Loaded when an agent starts: files that import testkit for a server alone do not pay for the agent's modules.
import type { NodeAgent } from '@berth/node-agent';
import { startTestServer, type TestServer } from './api-server.js';
import { pushBusybox } from './busybox-image.js';
import { eventually } from './eventually.js';
import { startRegistry } from './registry.js';
import type { Teardown } from './teardown.js';

export interface TestCluster {
  readonly server: TestServer;
  readonly agent: NodeAgent;
  /** `127.0.0.1:<port>/library/busybox:latest` in the cluster's registry. */
  readonly image: string;
  /** The agent's default network's bridge device. */
  readonly bridge: string;
  /** Host directory the agent lets Containers mount as hostPath (`-v /host:/path`). */
  readonly hostPathDir: string;
}

export interface TestClusterOptions {
  /** Host directories Containers may mount. @default a fresh temp dir (TestCluster.hostPathDir) */
  readonly hostPathPrefixes?: readonly string[];
  /** Serve the agent's /metrics on a free loopback port (NodeAgent.metricsUrl). @default off */
  readonly agentMetrics?: boolean;
  /** The agent's OpenTelemetry span file (its `traceFile` option). @default none */
  readonly agentTraceFile?: string;
}

const berthKinds = ['containers', 'volumes', 'networks', 'images'] as const;

/** Starts the cluster; the test's teardown deletes what it made through the API, then stops it all. */
export async function startTestCluster(t: Teardown, options: TestClusterOptions = {}): Promise<TestCluster> {
  const registry = await startRegistry(t);
  await pushBusybox(t, registry.address);
  const hostPathDir = await mkdtemp(join(tmpdir(), 'berth-hostpath-'));
  const hostPathPrefixes = options.hostPathPrefixes ?? [hostPathDir];
  // Admission allows the hostPaths the agent does, as berth up gives both its --allow-host-path.
  const server = await startTestServer({ podSecurity: { allowedHostPaths: hostPathPrefixes } });
  const root = await mkdtemp(join(tmpdir(), 'berth-cluster-'));
  const hex = randomBytes(3).toString('hex');
  const bridge = `bc${hex}`;
  let agent: NodeAgent;
  try {
    agent = await (await import('@berth/node-agent')).startNodeAgent({
      kubeconfig: server.kubeconfig,
      nodeName: `node-${hex}`,
      root,
      runtimeRoot: join(root, 'run'),
      netnsDir: join(root, 'netns'),
      ipamDir: join(root, 'ipam'),
      defaultNetwork: { name: 'berth', bridge, subnet: `10.214.${randomBytes(1)[0] ?? 0}.0/24` },
      adoptUnbound: true,
      restartBackoff: { baseMs: 300, maxMs: 2_000 },
      retryBackoff: { baseMs: 300, maxMs: 2_000 },
      pollIntervalMs: 2_000,
      hostPathPrefixes,
      logLevel: 'silent',
      ...(options.agentMetrics === true ? { metricsServer: { port: 0 } } : {}),
      ...(options.agentTraceFile === undefined ? {} : { traceFile: options.agentTraceFile }),
    });
  } catch (e) {
    await server.close();
    throw e;
  }
  // One teardown, in order: the objects (while the agent runs), the agent, then the server.
  t.teardown(async () => {
    // Through the API while the agent runs, so its finalizers take the containers, addresses and volumes down.
    const custom = server.kubeConfig().makeApiClient(CustomObjectsApi);
    const list = (plural: string) =>
      custom
        .listCustomObjectForAllNamespaces({ group: 'berth.dev', version: 'v1alpha1', plural })
        .then((l) => (l as { items: Array<{ metadata: { name: string; namespace: string } }> }).items)
        .catch(() => []);
    for (const plural of berthKinds) {
      for (const o of await list(plural))
        await custom
          .deleteNamespacedCustomObject({
            group: 'berth.dev',
            version: 'v1alpha1',
            plural,
            namespace: o.metadata.namespace,
            name: o.metadata.name,
          })
          .catch(() => undefined);
      await eventually(async () => (await list(plural)).length === 0, 30_000);
    }
    await agent.close();
    await new Promise<void>((resolve) => execFile('ip', ['link', 'del', bridge], () => resolve()));
    await rm(root, { recursive: true, force: true });
    await rm(hostPathDir, { recursive: true, force: true });
    await server.close();
  });
  return { server, agent, image: `${registry.address}/library/busybox:latest`, bridge, hostPathDir };
}
