// Test fixture: a real berth API server (HTTPS on a free loopback port, level store in a temp dir or a test etcd), with a
// kubeconfig file for the real kubectl (own discovery cache) and a client-node KubeConfig.

import { execFile, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import {
  ApiServer,
  EtcdStore,
  ensurePki,
  issueClientCertificate,
  LevelStore,
  type ApiServerOptions,
  type Store,
} from '@berth/apiserver';
import type { TestEtcd } from './etcd.js';
// Loaded when a test asks for controllers: a file that runs none does not pay for loading them (seconds of CPU).
import type { ControllerManagerOptions, RunningControllers } from '@berth/controllers';

/** kubectl 1.32 itself (the dispatcher at /usr/bin/kubectl would pick it too, one process later). */
export const kubectlBinary = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

export interface TestServer {
  readonly url: string;
  readonly dir: string;
  readonly token: string;
  readonly caCert: string;
  /** Path of a kubeconfig file (admin token, the server's CA, namespace default). */
  readonly kubeconfig: string;
  /** A client-node KubeConfig loaded from `kubeconfig`, fresh on each call. */
  kubeConfig(): KubeConfig;
  /**
   * Writes a kubeconfig for another user: a client certificate signed by the server's CA (CN = `user`, O = each
   * of `groups`), or a bearer `token`; returns its path (pass it as KUBECONFIG, or load it into client-node).
   */
  userKubeconfig(user: string, options?: { groups?: readonly string[]; token?: string }): Promise<string>;
  /** Runs kubectl; resolves with its output and exit code (never rejects on a non-zero exit). */
  kubectl(args: readonly string[], options?: { input?: string; env?: Record<string, string> }): Promise<KubectlResult>;
  /** Drops the store's history up to `revision` (watches from before it get 410 Expired). */
  compact(revision: number): Promise<void>;
  /** Stops the server, keeping the data dir (for restart tests). */
  stop(): Promise<void>;
  /** Starts it again on the same data dir and port, with `overrides` of the server options given at first. */
  restart(overrides?: Partial<ApiServerOptions>): Promise<void>;
  /**
   * Starts another API server on the same etcd and key prefix, with this one's PKI (the kubeconfig's CA and token
   * work against both); only with `etcd`. Closed with this server at the latest.
   */
  startPeer(): Promise<PeerServer>;
  close(): Promise<void>;
}

/** A second API server on the same store: this server's credentials, another URL. */
export interface PeerServer {
  readonly url: string;
  /** This server as a TestServer pointing at the peer's URL (for `request`). */
  readonly server: TestServer;
  close(): Promise<void>;
}

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface TestServerOptions
  extends Partial<
    Pick<
      ApiServerOptions,
      | 'watchCacheCapacity'
      | 'bookmarkIntervalMs'
      | 'authorizer'
      | 'admission'
      | 'logger'
      | 'serviceAccountMaxTokenExpirationSeconds'
      | 'podSecurity'
      | 'encryption'
      | 'audit'
      | 'maxRequestsInFlight'
      | 'maxMutatingRequestsInFlight'
    >
  > {
  /**
   * Run berth's controllers (the namespace controller finishes namespace deletion) beside the server, as a real
   * cluster does; they talk to it over the API with the admin kubeconfig. A list picks them as
   * kube-controller-manager's --controllers does (`['*', '-service']`); an object gives the controller manager's
   * options (`{ nodeLifecycle: { nodeMonitorGracePeriodMs: 2000 } }`). @default true
   */
  readonly controllers?: boolean | readonly string[] | Omit<ControllerManagerOptions, 'kubeconfig'>;
  /** Options of those controllers (a network pool of the test's own, say). */
  readonly controllerOptions?: Omit<ControllerManagerOptions, 'kubeconfig' | 'leaderElection' | 'controllers'>;
  /**
   * Store the cluster in this etcd (under a key prefix of its own, kept across `restart()`) instead of a level
   * store in the data dir.
   */
  readonly etcd?: TestEtcd;
}

/**
 * A /20 of the test cluster's own for Networks that name no subnet, picked at random among 512: every cluster
 * starting at the controller's default (10.214.0.0/24 first) made two test files running at once build bridges on
 * the same subnet.
 */
function testNetworkPool(): { base: string; size: number } {
  return { base: `10.${216 + randomInt(32)}.${randomInt(16) * 16}.0/20`, size: 24 };
}

export async function startTestServer(testOptions: TestServerOptions = {}): Promise<TestServer> {
  const { controllers: withControllers = true, controllerOptions = {}, etcd, ...options } = testOptions;
  const dir = await mkdtemp(join(tmpdir(), 'berth-test-'));
  const pki = await ensurePki(dir, []);
  const prefix = etcd?.freshPrefix();
  const openStore = (): Promise<Store> =>
    etcd === undefined
      ? LevelStore.open({ dir: join(dir, 'store') })
      : EtcdStore.open({
          endpoints: [etcd.endpoint],
          ...(prefix === undefined ? {} : { prefix }),
          ...(etcd.tls === undefined ? {} : { tls: etcd.tls }),
          compactionIntervalMs: false,
        });
  let store = await openStore();
  let server: ApiServer | undefined = await ApiServer.start({ store, pki, host: '127.0.0.1', port: 0, ...options });
  const url = server.url;
  const port = Number(new URL(url).port);
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'berth',
          cluster: { server: url, 'certificate-authority-data': Buffer.from(pki.caCert).toString('base64') },
        },
      ],
      users: [{ name: 'berth', user: { token: pki.adminToken } }],
      contexts: [{ name: 'berth', context: { cluster: 'berth', user: 'berth', namespace: 'default' } }],
      'current-context': 'berth',
    }),
  );
  const env = { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(dir, 'kube-cache'), HOME: dir };
  // One process alone: no leader election (it would write a Lease every few seconds for nothing).
  let controllers: RunningControllers | undefined;
  let kubeconfigs = 0;
  const peers: PeerServer[] = [];
  try {
    controllers =
      withControllers === false
        ? undefined
        : await (await import('@berth/controllers')).startControllers({
            network: { pools: [testNetworkPool()] },
            ...controllerOptions,
            kubeconfig,
            leaderElection: false,
            ...(withControllers === true
              ? {}
              : Array.isArray(withControllers)
                ? { controllers: withControllers as readonly string[] }
                : (withControllers as Omit<ControllerManagerOptions, 'kubeconfig'>)),
          });
  } catch (e) {
    await server.close();
    await store.close();
    throw e;
  }
  const ts: TestServer = {
    url,
    dir,
    token: pki.adminToken,
    caCert: pki.caCert,
    kubeconfig,
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfig);
      return kc;
    },
    async userKubeconfig(user, userOptions = {}) {
      const credentials =
        userOptions.token !== undefined
          ? { token: userOptions.token }
          : await issueClientCertificate(pki, user, userOptions.groups ?? []).then(({ cert, key }) => ({
              'client-certificate-data': Buffer.from(cert).toString('base64'),
              'client-key-data': Buffer.from(key).toString('base64'),
            }));
      const path = join(dir, `kubeconfig-${Buffer.from(user).toString('hex')}-${++kubeconfigs}`);
      await writeFile(
        path,
        stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [
            {
              name: 'berth',
              cluster: { server: url, 'certificate-authority-data': Buffer.from(pki.caCert).toString('base64') },
            },
          ],
          users: [{ name: user, user: credentials }],
          contexts: [{ name: 'berth', context: { cluster: 'berth', user, namespace: 'default' } }],
          'current-context': 'berth',
        }),
      );
      return path;
    },
    kubectl(args, options = {}) {
      return new Promise((resolve) => {
        const child = execFile(
          kubectlBinary,
          [...args],
          { env: { ...env, ...options.env }, maxBuffer: 64 * 1024 * 1024 },
          (err, stdout, stderr) => {
            const code =
              err === null
                ? 0
                : typeof (err as { code?: unknown }).code === 'number'
                  ? (err as { code: number }).code
                  : 1;
            resolve({ code, stdout, stderr });
          },
        );
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
    async restart(overrides = {}) {
      store = await openStore();
      try {
        server = await ApiServer.start({ store, pki, host: '127.0.0.1', port, ...options, ...overrides });
      } catch (e) {
        await store.close();
        throw e;
      }
    },
    async startPeer() {
      if (etcd === undefined) throw new Error('startPeer needs the server on etcd');
      const peerStore = await openStore();
      const peer = await ApiServer.start({ store: peerStore, pki, host: '127.0.0.1', port: 0, ...options });
      let closed = false;
      const handle: PeerServer = {
        url: peer.url,
        server: { ...ts, url: peer.url },
        async close() {
          if (closed) return;
          closed = true;
          await peer.close();
          await peerStore.close();
        },
      };
      peers.push(handle);
      return handle;
    },
    async close() {
      for (const p of peers) await p.close();
      await controllers?.close();
      if (server !== undefined) {
        await server.close();
        await store.close();
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  return ts;
}

/** Starts `kubectl args` in the background (e.g. `get -w`), collecting its stdout. */
export function kubectlBackground(
  ts: TestServer,
  args: readonly string[],
  env: Record<string, string> = {},
): { output: () => string; stop: () => Promise<void> } {
  const child = spawn(kubectlBinary, [...args], {
    env: { ...process.env, KUBECONFIG: ts.kubeconfig, KUBECACHEDIR: join(ts.dir, 'kube-cache'), HOME: ts.dir, ...env },
  });
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
