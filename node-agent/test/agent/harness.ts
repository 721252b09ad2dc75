// Set-up for node agent tests: a real API server, a real loopback registry with busybox, a throwaway data root,
// and helpers to apply Containers and watch them through the API, with everything torn down afterwards.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { Container } from '@berth/api';
import { pushBusybox, startRegistry, startTestServer, type TestServer, type TestServerOptions } from '@berth/testkit';
import { startNodeAgent, type NodeAgent, type NodeAgentOptions } from '../../src/index.js';
import { prepareHost } from '../../src/host/prepare-host.js';
import { CniNetworks } from '../../src/network/cni-networks.js';
import type { NetworkDefinition } from '../../src/network/network.js';
import { ConmonRuntime } from '../../src/runtime/conmon-runtime.js';
import { OverlaySnapshotter } from '../../src/snapshots/overlay.js';
import { deleteBridge, testNetwork } from '../network/host-state.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface Cluster {
  readonly server: TestServer;
  readonly kc: KubeConfig;
  readonly custom: CustomObjectsApi;
  /** `127.0.0.1:<port>/library/busybox:latest` */
  readonly image: string;
  readonly registryAddress: string;
  readonly root: string;
  readonly runtimeRoot: string;
  readonly nodeName: string;
  /** The default network of this cluster's agents: a bridge and /24 of its own, removed afterwards. */
  readonly network: NetworkDefinition;
  /** Options a test agent runs with (fast back-offs), for starting one in this process or a child. */
  readonly agentOptions: NodeAgentOptions;
  startAgent(extra?: Partial<NodeAgentOptions>): Promise<NodeAgent>;
  create(name: string, spec: Record<string, unknown>, namespace?: string): Promise<Container>;
  get(name: string, namespace?: string): Promise<Container | undefined>;
  remove(name: string, namespace?: string): Promise<void>;
  /** Polls the Container until `pred` holds; returns the last copy seen. */
  waitFor(name: string, pred: (c: Container) => boolean, timeoutMs?: number, namespace?: string): Promise<Container>;
  /** Polls until the Container no longer exists; resolves with whether it went within the time. */
  waitGone(name: string, timeoutMs?: number, namespace?: string): Promise<boolean>;
  /** Watches Containers from now on, recording each name's status.phase changes in order. */
  watchPhases(): Promise<{ phases(name: string): string[]; stop(): void }>;
}

export async function setUpCluster(
  t: Teardown,
  options: { agent?: boolean; controllers?: boolean; server?: TestServerOptions } = {},
): Promise<Cluster> {
  // Agent-only, as these tests were written: the agent binds unbound Containers itself (adoptUnbound), so the
  // scheduler stays out of the way (controllers/test/scheduler/ covers the two together).
  // The agent's own refusals (hostPath outside its prefixes) are what these tests check, so admission stays out.
  const server = await startTestServer({
    podSecurity: false,
    ...options.server,
    controllers: options.controllers === false ? false : ['*', '-scheduler'],
  });
  t.teardown(() => server.close());
  const registry = await startRegistry(t);
  await pushBusybox(t, registry.address);
  const root = await mkdtemp(path.join(tmpdir(), 'berth-agent-test-'));
  const runtimeRoot = path.join(root, 'run');
  const nodeName = `node-${randomBytes(3).toString('hex')}`;
  const network = testNetwork();
  const kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfig);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const agents: NodeAgent[] = [];
  const agentOptions: NodeAgentOptions = {
    kubeconfig: server.kubeconfig,
    nodeName,
    root,
    runtimeRoot,
    netnsDir: path.join(root, 'netns'),
    ipamDir: path.join(root, 'ipam'),
    defaultNetwork: network,
    adoptUnbound: true,
    restartBackoff: { baseMs: 300, maxMs: 2_000 },
    retryBackoff: { baseMs: 300, maxMs: 2_000 },
    pollIntervalMs: 2_000,
    logger: pino({ level: 'silent' }),
  };
  const group = 'berth.dev';
  const version = 'v1alpha1';
  const plural = 'containers';
  const cluster: Cluster = {
    server,
    kc,
    custom,
    image: `${registry.address}/library/busybox:latest`,
    registryAddress: registry.address,
    root,
    runtimeRoot,
    nodeName,
    network,
    agentOptions,
    async startAgent(extra = {}) {
      const agent = await startNodeAgent({ ...agentOptions, ...extra });
      agents.push(agent);
      return agent;
    },
    async create(name, spec, namespace = 'default') {
      return (await custom.createNamespacedCustomObject({
        group,
        version,
        namespace,
        plural,
        body: {
          apiVersion: `${group}/${version}`,
          kind: 'Container',
          metadata: { name, namespace },
          spec: { image: cluster.image, ...spec },
        },
      })) as Container;
    },
    async get(name, namespace = 'default') {
      try {
        return (await custom.getNamespacedCustomObject({ group, version, namespace, plural, name })) as Container;
      } catch (err) {
        if ((err as { code?: unknown }).code === 404) return undefined;
        throw err;
      }
    },
    async remove(name, namespace = 'default') {
      try {
        await custom.deleteNamespacedCustomObject({ group, version, namespace, plural, name });
      } catch (err) {
        if ((err as { code?: unknown }).code !== 404) throw err;
      }
    },
    async waitFor(name, pred, timeoutMs = 20_000, namespace = 'default') {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const c = await cluster.get(name, namespace);
        if ((c !== undefined && pred(c)) || Date.now() > deadline) {
          if (c === undefined) throw new Error(`container ${namespace}/${name} does not exist`);
          return c;
        }
        await sleep(50);
      }
    },
    async waitGone(name, timeoutMs = 20_000, namespace = 'default') {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if ((await cluster.get(name, namespace)) === undefined) return true;
        await sleep(50);
      }
      return false;
    },
    async watchPhases() {
      const seen = new Map<string, string[]>();
      const req = await new Watch(kc).watch(
        `/apis/${group}/${version}/containers`,
        {},
        (_type: string, obj: Container) => {
          const name = obj.metadata.name ?? '';
          const phase = obj.status?.phase ?? '';
          const list = seen.get(name) ?? [];
          if (phase !== '' && list[list.length - 1] !== phase) list.push(phase);
          seen.set(name, list);
        },
        () => undefined,
      );
      return { phases: (name) => seen.get(name) ?? [], stop: () => req.abort() };
    },
  };

  t.teardown(async () => {
    // Delete every Container through the API while an agent still runs, so finalizers are honoured…
    const list = (await custom
      .listCustomObjectForAllNamespaces({ group, version, plural })
      .catch(() => ({ items: [] }))) as { items: Container[] };
    if (agents.length > 0) {
      for (const c of list.items)
        await cluster.remove(c.metadata.name ?? '', c.metadata.namespace).catch(() => undefined);
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const left = (await custom
          .listCustomObjectForAllNamespaces({ group, version, plural })
          .catch(() => ({ items: [] }))) as { items: unknown[] };
        if (left.items.length === 0) break;
        await sleep(100);
      }
    }
    for (const a of agents) await a.close();
    // …then whatever is still on disk (a test that killed its agent) goes the hard way.
    const host = await prepareHost();
    const rt = new ConmonRuntime({ host, root, runtimeRoot });
    const snaps = new OverlaySnapshotter(root);
    for (const s of await rt.list()) await rt.delete(s.id, { force: true }).catch(() => undefined);
    for (const s of await snaps.list()) await snaps.remove(s.id).catch(() => undefined);
    const nets = new CniNetworks({
      stateDir: path.join(root, 'network'),
      netnsDir: path.join(root, 'netns'),
      ipamDir: path.join(root, 'ipam'),
    });
    for (const id of await nets.list()) await nets.detach(id).catch(() => undefined);
    // User Networks' bridges and leases (their objects went with the server).
    for (const n of await nets.networks()) await nets.removeNetwork(n.id).catch(() => undefined);
    await deleteBridge(network.bridge);
    await rm(root, { recursive: true, force: true });
  });
  if (options.agent === true) await cluster.startAgent();
  return cluster;
}
