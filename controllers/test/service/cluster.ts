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
import { Watch } from '@kubernetes/client-node';
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
          // busybox httpd as PID 1 ignores SIGTERM: do not wait 30 s for each replica that goes.
          terminationGracePeriodSeconds: 1,
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

/**
 * Watches a namespace's Containers and keeps, after every event since `reset()`, the fewest Ready and not
 * terminating ones seen (what serves traffic), so a test can assert a rollout never dipped below a floor.
 */
export async function watchServing(
  ts: TestServer,
  ns: string,
): Promise<{ min(): number; now(): number; reset(): void; stop(): void }> {
  const kc = ts.kubeConfig();
  const state = new Map<string, Container>();
  let min = Number.POSITIVE_INFINITY;
  const serving = () =>
    [...state.values()].filter((x) => x.metadata.deletionTimestamp === undefined && isReady(x)).length;
  const req = await new Watch(kc).watch(
    `/apis/berth.dev/v1alpha1/namespaces/${ns}/containers`,
    {},
    (type: string, obj: Container) => {
      if (type === 'DELETED') state.delete(obj.metadata.name ?? '');
      else state.set(obj.metadata.name ?? '', obj);
      min = Math.min(min, serving());
    },
    () => undefined,
  );
  return {
    min: () => min,
    now: serving,
    reset: () => {
      min = serving();
    },
    stop: () => req.abort(),
  };
}
