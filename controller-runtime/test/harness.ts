// Set-up for the runtime's end-to-end tests: a real berth API server (HTTPS, level store in a temp dir) that can
// be stopped and restarted on the same data and port, a client-node KubeConfig for it, and a condition poller.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { ApiServer, ensurePki, LevelStore } from '@berth/apiserver';
import { ApiClient, type Resource } from '../src/index.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

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

export const configMaps: Resource = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
export const secrets: Resource = { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true };
export const events: Resource = { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true };
export const leases: Resource = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true };

export async function startApi(t: Teardown, options: { watchCacheCapacity?: number } = {}): Promise<TestApi> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-cr-test-'));
  const pki = await ensurePki(dir, []);
  let store = await LevelStore.open({ dir: join(dir, 'store') });
  let server: ApiServer | undefined = await ApiServer.start({ store, pki, host: '127.0.0.1', port: 0, ...options });
  const url = server.url;
  const port = Number(new URL(url).port);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'berth', server: url, caData: Buffer.from(pki.caCert).toString('base64') }],
    users: [{ name: 'berth', token: pki.adminToken }],
    contexts: [{ name: 'berth', cluster: 'berth', user: 'berth', namespace: 'default' }],
    currentContext: 'berth',
  });
  const client = new ApiClient({ kubeconfig: kc, userAgent: 'berth-cr-test' });
  const api: TestApi = {
    kc,
    client,
    compact: (revision) => store.compact(revision),
    async stop() {
      client.close();
      await server?.close();
      server = undefined;
      await store.close();
    },
    async restart() {
      store = await LevelStore.open({ dir: join(dir, 'store') });
      server = await ApiServer.start({ store, pki, host: '127.0.0.1', port, ...options });
    },
  };
  t.teardown(async () => {
    client.close();
    if (server !== undefined) {
      await server.close();
      await store.close();
    }
    await rm(dir, { recursive: true, force: true });
  });
  return api;
}

/** Polls `check` until it holds or `timeoutMs` passes; returns whether it held. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

export function configMap(name: string, data: Record<string, string> = {}, namespace = 'default'): KubernetesObject & { data: Record<string, string> } {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}
