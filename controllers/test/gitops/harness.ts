// A real API server (testkit) with only the gitops controller running, on short intervals, and helpers to
// create sources and syncs and read them back through the API.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Manager } from '@berth/controller-runtime';
import { request, startTestServer, type TestServer } from '@berth/testkit';
import { addGitOpsController, type GitOpsControllerOptions, type GitOpsControllers } from '../../src/index.js';

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

export interface Obj {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    resourceVersion?: string;
    managedFields?: { manager: string; operation: string }[];
    finalizers?: string[];
  };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  status?: {
    conditions?: Condition[];
    observedGeneration?: number;
    artifact?: { revision: string; digest: string; path: string; size: number };
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
    lastHandledReconcileAt?: string;
    inventory?: { entries: { id: string; v: string }[] };
  };
}

export interface GitOpsHarness {
  readonly ts: TestServer;
  readonly gitops: GitOpsControllers;
  readonly dataDir: string;
  get(path: string): Promise<Obj | undefined>;
  post(path: string, body: unknown): Promise<Obj>;
  patch(path: string, body: unknown): Promise<Obj>;
  del(path: string): Promise<void>;
  close(): Promise<void>;
}

const json = (body: unknown) => ({ body: JSON.stringify(body), contentType: 'application/json' });

export async function startGitOps(options: Omit<GitOpsControllerOptions, 'dataDir'> = {}): Promise<GitOpsHarness> {
  const ts = await startTestServer({ controllers: false });
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-gitops-data-'));
  const mgr = new Manager({ kubeconfig: ts.kubeconfig, userAgent: 'berth-controller-manager' });
  const gitops = await addGitOpsController(mgr, { ...options, dataDir });
  await mgr.start();
  return {
    ts,
    gitops,
    dataDir,
    async get(path) {
      const res = await request(ts, 'GET', path);
      if (res.status === 404) return undefined;
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${res.text}`);
      return JSON.parse(res.text) as Obj;
    },
    async post(path, body) {
      const res = await request(ts, 'POST', path, json(body));
      if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.text}`);
      return JSON.parse(res.text) as Obj;
    },
    async patch(path, body) {
      const res = await request(ts, 'PATCH', path, {
        body: JSON.stringify(body),
        contentType: 'application/merge-patch+json',
      });
      if (res.status !== 200) throw new Error(`PATCH ${path}: ${res.status} ${res.text}`);
      return JSON.parse(res.text) as Obj;
    },
    async del(path) {
      const res = await request(ts, 'DELETE', path);
      if (res.status !== 200 && res.status !== 202) throw new Error(`DELETE ${path}: ${res.status} ${res.text}`);
    },
    async close() {
      await mgr.close();
      await ts.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const repoPath = (ns: string, name: string) =>
  `/apis/berth.dev/v1alpha1/namespaces/${ns}/gitrepositories/${name}`;
export const syncPath = (ns: string, name: string) => `/apis/berth.dev/v1alpha1/namespaces/${ns}/syncs/${name}`;
export const cmPath = (ns: string, name: string) => `/api/v1/namespaces/${ns}/configmaps/${name}`;

export function condition(obj: Obj | undefined, type: string): Condition | undefined {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

export function gitRepository(name: string, spec: Record<string, unknown>): unknown {
  return { apiVersion: 'berth.dev/v1alpha1', kind: 'GitRepository', metadata: { name }, spec };
}

/** A Sync; its timeout defaults to a minute here, since the tests' 1s intervals would make it 1s on a busy machine. */
export function sync(name: string, spec: Record<string, unknown>): unknown {
  return { apiVersion: 'berth.dev/v1alpha1', kind: 'Sync', metadata: { name }, spec: { timeout: '60s', ...spec } };
}

export function configMap(name: string, data: Record<string, string>): string {
  const lines = Object.entries(data).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n${lines.join('\n')}\n`;
}
