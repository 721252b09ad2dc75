// `berth up`: the all-in-one: the API server on the embedded store (or etcd), the controller manager, the node agent, a
// generated PKI, and kubeconfigs that kubectl and client-node use without flags. The controllers and the agent run
// in this process but talk to the server only over the API, with the kubeconfig written here.

import { homedir, hostname } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  ApiServer,
  createLogger,
  EtcdStore,
  ensurePki,
  issueClientCertificate,
  LevelStore,
  parseEtcdUrl,
  readEtcdTls,
  shareClusterIdentity,
  encryptionConfigFile,
  ensureEncryptionConfig,
  type Logger,
  type Pki,
  type Store,
} from '@berth/apiserver';
import type { NodeAgent, NodeAgentOptions } from '@berth/node-agent';
import { UpError, UsageError } from '../errors.js';
import { mergeKubeconfig, writeKubeconfig, type KubeconfigEntry } from '../kubeconfig.js';

export interface UpOptions {
  readonly dataDir: string;
  readonly listen: string;
  /** Write the kubeconfig here instead of merging into $KUBECONFIG or ~/.kube/config. */
  readonly kubeconfig?: string;
  /** Run the controller manager in this process (off: `berth controllers` runs it elsewhere). @default true */
  readonly controllers?: boolean;
  /** Run the node agent (root, crun, conmon). @default true */
  readonly agent?: boolean;
  /** The Node's name. @default the host name */
  readonly nodeName?: string;
  /** Host directories Containers may mount as hostPath volumes (the node agent's hostPathPrefixes). @default none */
  readonly allowHostPath?: readonly string[];
  /** pino level of the JSON-lines log on stderr (fatal, error, warn, info, debug, trace, silent). @default 'info' */
  readonly logLevel?: string;
  /** Where the cluster is stored: `embedded` (a level store in the data dir) or `etcd://host:port[,…][/prefix/]`. */
  readonly store?: string;
  /** PEM files for TLS to etcd (kube-apiserver's --etcd-cafile, --etcd-certfile, --etcd-keyfile). */
  readonly etcdCafile?: string;
  readonly etcdCertfile?: string;
  readonly etcdKeyfile?: string;
  /**
   * The server token every server of one cluster is given (k3s's --token): the first stores the cluster's CA,
   * admin token, ServiceAccount key and Secrets key in the store sealed with it; later ones use those.
   */
  readonly token?: string;
  /**
   * The cluster's other API servers (`https://host:port`): the kubeconfig written lists them beside this one, so the
   * CLI, `berth agent` and `berth controllers` given it move to another when one dies.
   */
  readonly servers?: readonly string[];
}

export interface RunningBerth {
  readonly server: ApiServer;
  readonly kubeconfigPath: string;
  readonly agent: NodeAgent | undefined;
  /** The one logger of this berth: the API server's, and the node agent's as a child. */
  readonly logger: Logger;
  /** Where each process serves /metrics (the API server at its own URL; the others on free loopback ports). */
  readonly metricsUrls: {
    readonly apiserver: string;
    readonly controllers: Promise<string | undefined>;
    readonly agent: string | undefined;
  };
  /** Stops the agent (containers keep running; the next `berth up` re-adopts them), the controllers, then the server. */
  close(): Promise<void>;
}

/** Parses `HOST:PORT`, `[::1]:PORT` or `:PORT`. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (m === null) throw new UsageError(`--listen must be HOST:PORT, got "${listen}"`);
  const port = Number(m[3]);
  if (port > 65535) throw new UsageError(`--listen port out of range: ${port}`);
  return { host: m[1] ?? (m[2] === '' ? '127.0.0.1' : m[2]!), port };
}

/**
 * Writes DATA_DIR/kubeconfig, and either `explicit` or a `berth` context merged into $KUBECONFIG or
 * ~/.kube/config; returns the path users should use.
 */
async function writeKubeconfigs(
  dataDir: string,
  explicit: string | undefined,
  entry: KubeconfigEntry,
): Promise<string> {
  await writeKubeconfig(join(dataDir, 'kubeconfig'), entry);
  if (explicit !== undefined) {
    await writeKubeconfig(resolve(explicit), entry);
    return resolve(explicit);
  }
  const target = process.env['KUBECONFIG']?.split(':')[0] || join(homedir(), '.kube', 'config');
  await mergeKubeconfig(target, entry);
  return target;
}

/** The embedded store in the data dir, or etcd (TLS when a CA file is given). */
export async function openStore(
  dataDir: string,
  options: Pick<UpOptions, 'store' | 'etcdCafile' | 'etcdCertfile' | 'etcdKeyfile'>,
): Promise<Store> {
  const where = options.store ?? 'embedded';
  if (where === 'embedded') {
    if (options.etcdCafile !== undefined || options.etcdCertfile !== undefined || options.etcdKeyfile !== undefined) {
      throw new UsageError('--etcd-cafile, --etcd-certfile and --etcd-keyfile need --store etcd://…');
    }
    return LevelStore.open({ dir: join(dataDir, 'store') });
  }
  if (!where.startsWith('etcd://'))
    throw new UsageError(`--store must be embedded or etcd://host:port, got "${where}"`);
  const { endpoints, prefix } = parseEtcdUrl(where);
  const tls = await readEtcdTls({
    caFile: options.etcdCafile,
    certFile: options.etcdCertfile,
    keyFile: options.etcdKeyfile,
  });
  try {
    return await EtcdStore.open({ endpoints, prefix, ...(tls === undefined ? {} : { tls }) });
  } catch (e) {
    throw new UpError(`could not reach etcd at ${endpoints.join(',')}: ${(e as Error).message}`, e);
  }
}

export async function up(options: UpOptions): Promise<RunningBerth> {
  const dataDir = resolve(options.dataDir);
  const { host, port } = parseListen(options.listen);
  const logger = createLogger({ level: options.logLevel ?? 'info' });
  const store = await openStore(dataDir, options);
  let pki: Pki;
  try {
    if (options.token !== undefined) await shareClusterIdentity(store, dataDir, options.token);
    else if (store.shared === true)
      logger.warn(
        {},
        'on etcd without --token: this server keeps its own CA and keys, so other servers on this etcd do not accept its credentials',
      );
    pki = await ensurePki(dataDir, [host]);
  } catch (e) {
    await store.close();
    throw e;
  }
  let server: ApiServer;
  try {
    const allowedHostPaths = (options.allowHostPath ?? []).map((p) => resolve(p));
    server = await ApiServer.start({
      store,
      pki,
      host,
      port,
      logger,
      podSecurity: { allowedHostPaths },
      encryption: await ensureEncryptionConfig(encryptionConfigFile(dataDir)),
      audit: { path: join(dataDir, 'audit', 'audit.log') },
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  const stopServer = async () => {
    await server.close();
    await store.close();
  };
  let kubeconfigPath: string;
  try {
    kubeconfigPath = await writeKubeconfigs(dataDir, options.kubeconfig, {
      name: 'berth',
      server: server.url,
      servers: [server.url, ...(options.servers ?? [])],
      caCert: pki.caCert,
      token: pki.adminToken,
    });
  } catch (e) {
    await stopServer();
    throw new UpError(`could not write the kubeconfig: ${(e as Error).message}`, e);
  }
  const nodeName = options.nodeName ?? hostname();
  let identities: { controllerManager: string; nodeAgent: string };
  try {
    identities = await writeComponentKubeconfigs(dataDir, server.url, pki, nodeName);
  } catch (e) {
    await stopServer();
    throw new Error(`could not write the components' kubeconfigs: ${(e as Error).message}`, { cause: e });
  }
  // The controller manager (leader election on a kube-system Lease, as kube-controller-manager) starts once the
  // server serves, on its own thread; the controllers catch up on what they find when their caches fill.
  // GitOps clones and artifacts live with berth's data, so a restart reuses them instead of fetching anew.
  // The controllers' and the agent's /metrics: free loopback ports, HTTPS with the API server's certificate (it
  // names this host), callers checked with the API server as kube-controller-manager and kubelet check theirs.
  const metricsServer = { host, port: 0, tls: { cert: pki.serverCert, key: pki.serverKey } };
  const { stop: stopControllers, metricsUrl: controllersMetrics } =
    options.controllers === false
      ? { stop: async () => undefined, metricsUrl: Promise.resolve(undefined) }
      : startControllerManager(
          {
            kubeconfig: identities.controllerManager,
            logLevel: options.logLevel ?? 'info',
            gitopsDir: join(dataDir, 'gitops'),
            metricsServer,
          },
          logger,
        );
  let agent: NodeAgent | undefined;
  if (options.agent !== false) {
    try {
      // The controller manager's scheduler binds Containers to this node (or to another agent's, `berth agent`).
      // Loaded only when it runs: the agent pulls in client-node (about 70 MB and a second of start-up).
      const { startNodeAgent } = await import('@berth/node-agent');
      agent = await startNodeAgent({
        kubeconfig: identities.nodeAgent,
        root: join(dataDir, 'node'),
        logger: logger.child({ component: 'node-agent' }),
        nodeName,
        metricsServer,
        ...(options.allowHostPath !== undefined
          ? { hostPathPrefixes: options.allowHostPath.map((p) => resolve(p)) }
          : {}),
      });
    } catch (e) {
      await stopControllers();
      await stopServer();
      throw new UpError(
        `the node agent could not start: ${(e as Error).message} (--no-agent runs the API server alone)`,
        e,
      );
    }
  }
  // Where this server serves, for joined agents to learn the cluster's servers (failover/server-leases.ts).
  const { startServerLease } = await import('../failover/server-leases.js');
  const serverLease = startServerLease(identities.controllerManager, server.url, {
    onError: (err) => logger.warn({ error: String(err) }, "could not renew this API server's Lease"),
  });
  logger.info({ url: server.url, dataDir }, 'berth is up');
  const metricsUrls = { apiserver: `${server.url}/metrics`, controllers: controllersMetrics, agent: agent?.metricsUrl };
  void controllersMetrics.then((controllers) =>
    logger.info({ apiserver: metricsUrls.apiserver, controllers, agent: metricsUrls.agent }, 'serving /metrics'),
  );
  return {
    server,
    kubeconfigPath,
    agent,
    logger,
    metricsUrls,
    async close() {
      await agent?.close();
      await stopControllers();
      await serverLease.close();
      await stopServer();
    },
  };
}

/**
 * Kubeconfigs for the controller manager and the node agent, each with its own client certificate (the users
 * `system:kube-controller-manager` and `system:node:<name>` in `system:nodes`), so each holds only what its
 * bootstrapped role grants instead of the admin token. Issued afresh on each start.
 */
async function writeComponentKubeconfigs(
  dataDir: string,
  server: string,
  pki: Pki,
  nodeName: string,
): Promise<{ controllerManager: string; nodeAgent: string }> {
  const controllerManager = join(dataDir, 'controller-manager.kubeconfig');
  const nodeAgent = join(dataDir, 'node-agent.kubeconfig');
  const [cm, node] = await Promise.all([
    issueClientCertificate(pki, 'system:kube-controller-manager'),
    issueClientCertificate(pki, `system:node:${nodeName}`, ['system:nodes']),
  ]);
  await writeKubeconfig(controllerManager, { name: 'berth', server, caCert: pki.caCert, clientCertificate: cm });
  await writeKubeconfig(nodeAgent, { name: 'berth', server, caCert: pki.caCert, clientCertificate: node });
  return { controllerManager, nodeAgent };
}

/** Starts the controller manager's thread; the function returned stops it (waiting for its Lease release). */
/** What berth up hands the controller manager's thread. */
export interface ControllerManagerThreadData {
  readonly kubeconfig: string;
  readonly logLevel: string;
  readonly gitopsDir: string;
  /** Where the controllers serve /metrics. @default not served */
  readonly metricsServer?: NodeAgentOptions['metricsServer'];
}

/** The controller-manager thread's young generation in MB (V8 divides it into semi-spaces of about 2 MB). */
const CONTROLLERS_YOUNG_GENERATION_MB = 6;

function startControllerManager(
  workerData: ControllerManagerThreadData,
  logger: Logger,
): { stop: () => Promise<void>; metricsUrl: Promise<string | undefined> } {
  // The thread's module sits beside this one: .ts when berth runs from source (under tsx), .js once built.
  const ext = extname(fileURLToPath(import.meta.url));
  const entry = new URL(`./controller-manager-thread${ext}`, import.meta.url);
  // A small young generation: V8's default lets it grow to 32 MB after the start-up's burst of lists and keeps
  // those pages, while the controllers allocate little once their caches are filled.
  const resourceLimits = { maxYoungGenerationSizeMb: CONTROLLERS_YOUNG_GENERATION_MB };
  // Node 20 does not carry module hooks into workers: from source the thread registers tsx itself first.
  const worker =
    ext === '.ts'
      ? new Worker(
          `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`,
          {
            eval: true,
            workerData,
            resourceLimits,
          },
        )
      : new Worker(entry, { workerData, resourceLimits });
  worker.on('error', (e) =>
    logger.error({ component: 'controller-manager', error: e.message }, 'the controller manager failed'),
  );
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let started = false;
  worker.on('message', (m: unknown) => (started ||= m === 'started'));
  // The thread says where its /metrics listens once it has started (undefined if it exits first).
  const metricsUrl = new Promise<string | undefined>((resolve) => {
    worker.on('message', (m: unknown) => {
      if (typeof m === 'object' && m !== null && 'metricsUrl' in m && typeof m.metricsUrl === 'string')
        resolve(m.metricsUrl);
    });
    void exited.then(() => resolve(undefined));
  });
  const stop = async () => {
    // Still loading: nothing to hand back yet, so no need to wait for it to finish starting.
    if (started) {
      const closed = new Promise<void>((resolve) => worker.on('message', (m: unknown) => m === 'closed' && resolve()));
      worker.postMessage('close');
      await Promise.race([closed, exited]);
    }
    await worker.terminate();
  };
  return { stop, metricsUrl: metricsUrl.then((url) => (url === undefined ? undefined : `${url}/metrics`)) };
}
