// Set-up shared by the service controller's end-to-end tests: a real API server, the loopback registry with
// busybox, one real node agent, and the controller manager; helpers to read Services and their Containers.
import type { Container, Service } from '@berth/api';
import {
  pushBusybox,
  startRegistry,
  startTestAgent,
  startTestServer,
  type KubectlResult,
  type TestServer,
  type Teardown,
} from '@berth/testkit';
import { startControllers, type RunningControllers } from '../../src/index.js';

export interface ServiceCluster {
  readonly ts: TestServer;
  /** `127.0.0.1:<port>/library/busybox:latest` */
  readonly image: string;
  readonly registryAddress: string;
  controllers: RunningControllers;
  kubectl(args: readonly string[], input?: string): Promise<KubectlResult>;
  /** kubectl apply -f - of these objects. */
  apply(...objects: object[]): Promise<KubectlResult>;
  namespace(name: string): Promise<void>;
  service(ns: string, name: string): Promise<Service>;
  /** The namespace's Containers (not terminating ones unless `all`). */
  containers(ns: string, all?: boolean): Promise<Container[]>;
  /** Restarts the controller manager (a fresh cache: every Service is reconciled again). */
  restartControllers(): Promise<RunningControllers>;
}

export async function setUpServiceCluster(t: Teardown): Promise<ServiceCluster> {
  const ts = await startTestServer({ controllers: false });
  t.teardown(() => ts.close());
  const registry = await startRegistry(t);
  await pushBusybox(t, registry.address);
  await startTestAgent(t, ts);
  const start = () => startControllers({ kubeconfig: ts.kubeconfig, leaderElection: false });
  const kubectl = async (args: readonly string[], input?: string) =>
    ts.kubectl(args, input === undefined ? {} : { input });
  const json = async <T>(args: readonly string[]): Promise<T> => {
    const r = await kubectl([...args, '-o', 'json']);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  };
  const cluster: ServiceCluster = {
    ts,
    image: `${registry.address}/library/busybox:latest`,
    registryAddress: registry.address,
    controllers: await start(),
    kubectl,
    apply: (...objects) =>
      kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects })),
    async namespace(name) {
      const r = await kubectl(['create', 'namespace', name]);
      if (r.code !== 0) throw new Error(r.stderr);
    },
    service: (ns, name) => json<Service>(['get', 'services.berth.dev', name, '-n', ns]),
    async containers(ns, all = false) {
      const list = await json<{ items: Container[] }>(['get', 'containers.berth.dev', '-n', ns]);
      return list.items.filter((c) => all || c.metadata.deletionTimestamp === undefined);
    },
    async restartControllers() {
      await cluster.controllers.close();
      cluster.controllers = await start();
      return cluster.controllers;
    },
  };
  t.teardown(() => cluster.controllers.close());
  return cluster;
}

/** A Service of busybox httpd replicas serving their own name on port 80. */
export function httpdService(
  image: string,
  name: string,
  namespace: string,
  spec: Record<string, unknown> = {},
  env: Record<string, string> = {},
): object {
  return {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          image,
          command: ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www'],
          ...(Object.keys(env).length > 0 ? { env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })) } : {}),
        },
      },
      ...spec,
    },
  };
}

export const isReady = (c: Container) =>
  c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') === true;
