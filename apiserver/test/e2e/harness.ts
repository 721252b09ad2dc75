// Starts a real berth API server (HTTPS, level store in a temp dir) for a test, and runs the real kubectl
// against it with its own kubeconfig and discovery cache.

import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ApiServer, ensurePki, LevelStore } from '@berth/apiserver';

/** kubectl 1.32 itself (the dispatcher at /usr/bin/kubectl would pick it too, one process later). */
export const kubectlBinary = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

export interface TestServer {
  readonly url: string;
  readonly dir: string;
  readonly token: string;
  readonly caCert: string;
  readonly kubeconfig: string;
  /** Runs kubectl; resolves with its output and exit code (never rejects on a non-zero exit). */
  kubectl(args: readonly string[], options?: { input?: string; env?: Record<string, string> }): Promise<KubectlResult>;
  /** Drops the store's history up to `revision` (watches from before it get 410 Expired). */
  compact(revision: number): Promise<void>;
  /** Stops the server, keeping the data dir (for restart tests). */
  stop(): Promise<void>;
  /** Starts it again on the same data dir and port. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function startTestServer(options: { watchCacheCapacity?: number; bookmarkIntervalMs?: number } = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-test-'));
  const pki = await ensurePki(dir, []);
  let store = await LevelStore.open({ dir: join(dir, 'store') });
  let server: ApiServer | undefined = await ApiServer.start({ store, pki, host: '127.0.0.1', port: 0, ...options });
  const url = server.url;
  const port = Number(new URL(url).port);
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'berth', cluster: { server: url, 'certificate-authority-data': Buffer.from(pki.caCert).toString('base64') } }],
      users: [{ name: 'berth', user: { token: pki.adminToken } }],
      contexts: [{ name: 'berth', context: { cluster: 'berth', user: 'berth', namespace: 'default' } }],
      'current-context': 'berth',
    }),
  );
  const env = { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(dir, 'kube-cache'), HOME: dir };
  return {
    url,
    dir,
    token: pki.adminToken,
    caCert: pki.caCert,
    kubeconfig,
    kubectl(args, options = {}) {
      return new Promise((resolve) => {
        const child = execFile(kubectlBinary, [...args], { env: { ...env, ...options.env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
          const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1;
          resolve({ code, stdout, stderr });
        });
        if (options.input !== undefined) child.stdin?.end(options.input);
        else child.stdin?.end();
      });
    },
    compact: (revision) => store.compact(revision),
    async stop() {
      await server?.close();
      server = undefined;
      await store.close();
    },
    async restart() {
      store = await LevelStore.open({ dir: join(dir, 'store') });
      server = await ApiServer.start({ store, pki, host: '127.0.0.1', port, ...options });
    },
    async close() {
      if (server !== undefined) {
        await server.close();
        await store.close();
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `kubectl args` in the background (e.g. `get -w`), collecting its stdout. */
export function kubectlBackground(ts: TestServer, args: readonly string[]): { output: () => string; stop: () => Promise<void> } {
  const child = spawn(kubectlBinary, [...args], { env: { ...process.env, KUBECONFIG: ts.kubeconfig, KUBECACHEDIR: join(ts.dir, 'kube-cache'), HOME: ts.dir } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return {
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Polls `check` until it returns true or the time runs out. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

/** One HTTPS request to the test server, authenticated as admin unless `token` is given ('' = none). */
export async function request(
  ts: TestServer,
  method: string,
  path: string,
  options: { body?: string | Buffer; contentType?: string; accept?: string; token?: string } = {},
): Promise<RawResponse> {
  const { request: httpsRequest } = await import('node:https');
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    const token = options.token ?? ts.token;
    if (token !== '') headers['Authorization'] = `Bearer ${token}`;
    if (options.contentType !== undefined) headers['Content-Type'] = options.contentType;
    if (options.accept !== undefined) headers['Accept'] = options.accept;
    const req = httpsRequest(new URL(path, ts.url), { method, headers, ca: ts.caCert }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
