// Set-up for the runtime's end-to-end tests: a real berth API server (HTTPS, level store in a temp dir or etcd) that can
// be stopped and restarted on the same data and port, a client-node KubeConfig for it, and the objects the tests write.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { startTestServer, type Teardown, type TestEtcd } from '@berth/testkit';
import { ApiClient, type Resource } from '../src/index.js';

export { eventually } from '@berth/testkit';

export interface TestApi {
  readonly kc: KubeConfig;
  /** A client for the test's own writes (separate from the one under test). */
  readonly client: ApiClient;
  /** Drops the store's history up to `revision`: watches from before it get 410 Expired. */
  compact(revision: number): Promise<void>;
  /** Stops the server, keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same data dir and port. */
  restart(): Promise<void>;
}

export const configMaps: Resource = {
  group: '',
  version: 'v1',
  plural: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
};
export const secrets: Resource = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };
export const events: Resource = { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true };
export const leases: Resource = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  kind: 'Lease',
  namespaced: true,
};

export interface StartApiOptions {
  readonly watchCacheCapacity?: number;
  /** Run the server on this etcd instead of a level store. */
  readonly etcd?: TestEtcd;
}

export type StartApi = (t: Teardown, options?: StartApiOptions) => Promise<TestApi>;

export async function startApi(t: Teardown, options: StartApiOptions = {}): Promise<TestApi> {
  const server = await startTestServer(options);
  const kc = server.kubeConfig();
  const client = new ApiClient({ kubeconfig: kc, userAgent: 'berth-cr-test' });
  t.teardown(async () => {
    client.close();
    await server.close();
  });
  return {
    kc,
    client,
    compact: (revision) => server.compact(revision),
    async stop() {
      client.close();
      await server.stop();
    },
    restart: () => server.restart(),
  };
}

export function configMap(
  name: string,
  data: Record<string, string> = {},
  namespace = 'default',
): KubernetesObject & { data: Record<string, string> } {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}
