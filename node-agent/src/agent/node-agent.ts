// startNodeAgent: the node agent's lifecycle, composing host preparation, node heartbeat and the Container controller
// (a @berth/controller-runtime manager: shared informer, rate-limited queue, reconcile loop, Event recorder).
//
// Everything it learns about the cluster it reads through the API, and everything it changes it writes through
// the API: it never touches the apiserver's code or store. Closing it leaves running containers running (conmon
// owns them); the next start re-adopts them without a restart.
import { createHash } from 'node:crypto';
import { rmdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  Controller,
  loadKubeConfig,
  Manager,
  requestOf,
  resources,
  type Kubeconfig,
  type Logger as RuntimeLogger,
  type MetricsServerOptions,
} from '@berth/controller-runtime';
import type { Container, Image, Network, Service, Volume } from '@berth/api';
import { parseIpv4 } from '@berth/api';
import type { KubernetesObject } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { prepareHost, type HostReport } from '../host/prepare-host.js';
import { Builder } from '../build/builder.js';
import { ImageReconciler, namesSweepKey } from '../images/image-reconciler.js';
import { collectImageGarbage, type ImageGcOptions } from '../images/image-gc.js';
import { diskUsage } from '../stats/disk-usage.js';
import { ImageStore } from '../images/image-store.js';
import { ImageTransfer } from '../images/image-transfer.js';
import { BuildLogs } from '../build/build-log.js';
import type { RegistryClientOptions } from '../distribution/distribution.js';
import { CniNetworks } from '../network/cni-networks.js';
import type { NetworkDefinition } from '../network/network.js';
import { NetworkDns } from '../network/dns-server.js';
import { NetworkReconciler, networkKey } from '../network/network-reconciler.js';
import { cidrRange, definitionOf } from '../network/user-networks.js';
import { ConmonRuntime } from '../runtime/conmon-runtime.js';
import { OverlaySnapshotter } from '../snapshots/overlay.js';
import { StreamingServer } from '../streaming/streaming.js';
import { apiErrorMessage, ClusterApi, isConflict, isInvalid } from '../cluster/cluster-api.js';
import { fieldManager, userAgent } from '../cluster/writer-identity.js';
import { containerChanges } from '../containers/container-changes.js';
import {
  containerAddresses,
  otherNodesMemberAddresses,
  containerNameAt,
  serviceAddresses,
  serviceRecords,
} from '../containers/container-names.js';
import { ExitWatcher } from '../containers/exit-watch.js';
import { ImagePolicy } from '../containers/image-policy.js';
import { agentVersion, machineStatus, nodeArchitecture, nodeInternalIP } from '../node/node-info.js';
import { NodeHeartbeat } from '../node/node-heartbeat.js';
import { execInContainer } from '../probes/probe-exec.js';
import { Prober } from '../probes/prober.js';
import { IptablesServicePorts } from '../service-ports/iptables-service-ports.js';
import { ServicePortReconciler, servicePortsKey } from '../service-ports/service-port-reconciler.js';
import { NodeAgentOptionError } from './errors.js';
import { ContainerReconciler, type BackoffPolicy } from '../containers/reconciler.js';
import { containerMounts, refreshProjected, type VolumeSources } from '../containers/container-volumes.js';
import { LocalVolumes } from '../volumes/local.js';
import { VolumeReconciler } from '../volumes/volume-reconciler.js';
import { volumeNode, volumeRefs } from '../volumes/volume-refs.js';
import { cgroupsPathFor } from '../runtime/oci-spec.js';
import { IdRanges } from '../user-namespaces/id-ranges.js';
import { agentMetrics } from '../stats/agent-metrics.js';
import { lifecycleTraces } from '../traces/lifecycle-traces.js';
import { tunnelAddressAnnotation } from '@berth/api';
import { StatsSummaries, type Summary } from '../stats/stats-summary.js';

export interface NodeAgentOptions {
  /** A Kubeconfig (client-node's KubeConfig is one), or the path of a kubeconfig file. */
  readonly kubeconfig: Kubeconfig | string;
  /** @default os.hostname() */
  readonly nodeName?: string;
  /**
   * This node's address on the network between hosts, where other nodes send user Networks' VXLAN traffic (the
   * Node's berth.dev/tunnel-address annotation). Unset: the node's user Networks stay on it.
   */
  readonly tunnelAddress?: string;
  /** Data root: images, layers, containers. @default '/var/lib/berth/node' */
  readonly root?: string;
  /** crun's state directory. @default '/run/berth/crun' */
  readonly runtimeRoot?: string;
  /**
   * Where containers' network namespaces are bind-mounted; this agent's alone (it removes what it finds there
   * without a Container). @default `netns/<digest of root>` beside runtimeRoot ('/run/berth/netns/…')
   */
  readonly netnsDir?: string;
  /** host-local's IP leases, shared by the agents of one host (they share its bridges). @default `ipam` beside runtimeRoot ('/run/berth/ipam') */
  readonly ipamDir?: string;
  /**
   * Id ranges of Containers with `hostUsers: false`: the leases, shared by the agents of one host so no two
   * containers share a range, and the first id and number of 65536-id ranges.
   * @default { leaseDir: `userns` beside runtimeRoot ('/run/berth/userns'), firstHostId: 2^30, count: 16384 }
   */
  /** Where Localhost seccomp profiles are read from, as kubelet's `<root-dir>/seccomp`. @default `<root>/seccomp` */
  readonly seccompProfileRoot?: string;
  readonly userNamespaces?: { readonly leaseDir?: string; readonly firstHostId?: number; readonly count?: number };
  /**
   * The bridge network a Container that names no network joins. berth creates the bridge on the first such
   * Container. @default { name: 'berth', bridge: 'berth0', subnet: '10.212.0.0/16' } (clear of Podman's 10.88/16 and Docker's 172.17/16)
   */
  readonly defaultNetwork?: NetworkDefinition;
  /**
   * Bind Containers whose spec.nodeName is empty to this node, for an agent-only set-up without a scheduler (the
   * node agent's own tests). With a scheduler (`berth up`, `berth controllers`) leave it off: the agent then runs
   * only what is bound to it. @default false
   */
  readonly adoptUnbound?: boolean;
  /** Registries spoken to over plain HTTP. @default loopback registries only */
  readonly plainHttpRegistries?: readonly string[];
  /** Extra PEM CAs trusted for HTTPS registries. */
  readonly registryCA?: string | readonly string[];
  /** Serve log/exec/attach on `<root>/agent.sock` (the endpoint the Node advertises, relayed by the API server). @default true */
  readonly serveStreaming?: boolean;
  /**
   * Parallel reconciles (a stop waiting out its grace period holds one). A start mostly waits on its runtime process
   * and the API, so a burst of replicas starts at once rather than in waves, as kubelet's pod workers (one per Pod)
   * do: at 8, the last 12 of 20 replicas waited up to 560 ms in the queue (bench/service-replicas.ts). @default 32
   */
  readonly workers?: number;
  /** Restart back-off (CrashLoopBackOff). @default { baseMs: 10000, maxMs: 300000 } as kubelet */
  readonly restartBackoff?: BackoffPolicy;
  /**
   * The controller queue's per-key back-off after any failed reconcile: a failed pull (ImagePullBackOff) or create,
   * an API error. kubelet's pod workers likewise retry any failed sync after 10 s. @default { baseMs: 10000, maxMs: 300000 }
   */
  readonly retryBackoff?: BackoffPolicy;
  /** @default 600000 (10 min) */
  readonly backoffResetMs?: number;
  /** Safety-net poll of running containers. @default 10000 */
  readonly pollIntervalMs?: number;
  /** @default 10000 */
  readonly leaseRenewIntervalMs?: number;
  /** Rotate container logs larger than this, checked every 10 s. @default 10 MiB */
  readonly logMaxBytes?: number;
  /**
   * Host directories Containers may mount through hostPath volumes (a hostPath must resolve under one). A hostPath
   * gives a container the host's files: off unless the node's admin lists directories here. @default [] (none)
   */
  readonly hostPathPrefixes?: readonly string[];
  /**
   * Publish Services' ports on this node (the routing mesh: iptables nat rules spreading new connections over the
   * Ready replicas). @default true
   */
  readonly servicePorts?: boolean;
  /**
   * Remove the published Service ports when the agent closes. By default they stay, as the containers behind them
   * keep running; the next start replaces them. @default false
   */
  readonly removeServicePortsOnClose?: boolean;
  /**
   * Host directories an Image's `spec.build.context` may name (an uploaded context, as `berth build` sends, needs
   * none). A context gives the build the host's files: off unless the node's admin lists directories. @default []
   */
  readonly buildContextPrefixes?: readonly string[];
  /**
   * Let builds' `RUN --network=host` use the node's network (BuildKit's `network.host` entitlement, which buildkitd
   * also grants only when started so): it reaches every service on the node's loopback. @default false
   */
  readonly buildNetworkHost?: boolean;
  /**
   * Image garbage collection, checked every 5 minutes: unreferenced blobs and layers go, oldest first, when the data
   * root's filesystem is fuller than the high threshold. @default { highThresholdPercent: 85, lowThresholdPercent: 80 }
   */
  readonly imageGc?: ImageGcOptions | false;
  /** Where diagnostics go (`berth up` passes its own). @default a pino logger writing JSON lines to stderr at `logLevel` */
  readonly logger?: Logger;
  /** Level of the default logger; ignored when `logger` is given. @default 'info' */
  readonly logLevel?: pino.LevelWithSilent;
  /** Serve /metrics (kubelet's and cAdvisor's families), callers checked with the API server. @default off */
  readonly metricsServer?: MetricsServerOptions;
  /** Append OpenTelemetry spans of each Container's first start (apply → scheduled → pulled → started) here, as
   * OTLP/JSON-shaped lines (traces/lifecycle-traces.ts). @default off */
  readonly traceFile?: string;
}

export interface NodeAgent {
  readonly nodeName: string;
  readonly root: string;
  readonly host: HostReport;
  /** The runtime the agent drives; the streaming server uses it for logs, exec and attach. */
  readonly runtime: ConmonRuntime;
  /** The runtime id of a Container running on this node, or undefined. */
  lookup(namespace: string, name: string): string | undefined;
  /** Where /metrics is served, when `metricsServer` was given. */
  readonly metricsUrl: string | undefined;
  /** What the node and its containers use now (kubelet's /stats/summary, also served on the agent socket). */
  statsSummary(): Promise<Summary>;
  /** Stops watching and reconciling; containers keep running. */
  close(): Promise<void>;
}

export const defaultNetwork: NetworkDefinition = { name: 'berth', bridge: 'berth0', subnet: '10.212.0.0/16' };

/** Options that cannot work fail here, before the host is touched (a 0 interval would become a busy timer). */
function checkOptions(options: NodeAgentOptions, workers: number): void {
  if (!Number.isInteger(workers) || workers < 1)
    throw new NodeAgentOptionError('workers', `must be a positive integer, got ${workers}`);
  for (const [name, policy] of [
    ['restartBackoff', options.restartBackoff],
    ['retryBackoff', options.retryBackoff],
  ] as const) {
    if (policy === undefined) continue;
    if (!(policy.baseMs > 0) || !(policy.maxMs >= policy.baseMs))
      throw new NodeAgentOptionError(name, `needs baseMs > 0 and maxMs >= baseMs, got ${JSON.stringify(policy)}`);
  }
  for (const dir of options.hostPathPrefixes ?? []) {
    // A relative directory would depend on the agent's working directory, "/" would allow the whole host.
    if (!path.isAbsolute(dir) || path.resolve(dir) === '/')
      throw new NodeAgentOptionError(
        'hostPathPrefixes',
        `must be absolute directories other than /, got ${JSON.stringify(dir)}`,
      );
  }
  for (const name of ['pollIntervalMs', 'leaseRenewIntervalMs', 'logMaxBytes', 'backoffResetMs'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isFinite(value) && value > 0))
      throw new NodeAgentOptionError(name, `must be a positive number, got ${value}`);
  }
}

/** controller-runtime's logging surface on a pino logger. */
function runtimeLogger(logger: Logger): RuntimeLogger {
  return {
    info: (message, fields) => logger.info(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
  };
}

export async function startNodeAgent(options: NodeAgentOptions): Promise<NodeAgent> {
  const nodeName = options.nodeName ?? os.hostname();
  const root = path.resolve(options.root ?? '/var/lib/berth/node');
  // A logger of our own is ours to flush on close; a given one belongs to the caller.
  const baseLogger: Logger = options.logger ?? pino({ level: options.logLevel ?? 'info' }, pino.destination(2));
  const logger = baseLogger.child({ component: 'berth-node-agent', node: nodeName });
  const workers = options.workers ?? 32;
  checkOptions(options, workers);
  const kubeconfig = loadKubeConfig(options.kubeconfig);
  const agent = userAgent(await agentVersion(), process.platform, nodeArchitecture());
  const api = new ClusterApi(kubeconfig, { userAgent: agent });
  const manager = new Manager({
    kubeconfig,
    userAgent: agent,
    fieldManager,
    log: runtimeLogger(logger),
    ...(options.metricsServer !== undefined ? { metricsServer: options.metricsServer } : {}),
  });

  const host = await prepareHost();
  for (const action of host.actions) logger.info({ action }, 'host prepared');
  const runtime = new ConmonRuntime({
    host,
    root,
    ...(options.runtimeRoot !== undefined ? { runtimeRoot: options.runtimeRoot } : {}),
  });
  const snapshots = new OverlaySnapshotter(root);
  const runDir = path.dirname(path.resolve(options.runtimeRoot ?? '/run/berth/crun'));
  const networks = new CniNetworks({
    stateDir: path.join(root, 'network'),
    netnsDir:
      options.netnsDir ?? path.join(runDir, 'netns', createHash('sha256').update(root).digest('hex').slice(0, 12)),
    ipamDir: options.ipamDir ?? path.join(runDir, 'ipam'),
  });
  const idRanges = new IdRanges({
    dataRoot: root,
    leaseDir: options.userNamespaces?.leaseDir ?? path.join(runDir, 'userns'),
    ...(options.userNamespaces?.firstHostId === undefined ? {} : { firstHostId: options.userNamespaces.firstHostId }),
    ...(options.userNamespaces?.count === undefined ? {} : { count: options.userNamespaces.count }),
  });
  const plain = options.plainHttpRegistries;
  const registry: RegistryClientOptions = {
    ...(options.registryCA !== undefined ? { ca: options.registryCA } : {}),
    ...(plain !== undefined ? { plainHttp: (r: string) => plain.includes(r) } : {}),
  };
  const imageStore = new ImageStore({ root, registry });
  // Builds run their RUN containers under <root>/build: the Container reconciler's orphan sweep never sees them.
  const builder = new Builder({
    root,
    images: imageStore,
    snapshots: new OverlaySnapshotter(path.join(root, 'build')),
    runtime: new ConmonRuntime({
      host,
      root: path.join(root, 'build'),
      ...(options.runtimeRoot !== undefined ? { runtimeRoot: options.runtimeRoot } : {}),
    }),
  });
  // Usage of what runs here: the Containers bound to this node that have a process (read from the cache).
  const stats = new StatsSummaries(host.cgroups, nodeName, () =>
    containers
      .list()
      .filter((c) => c.spec.nodeName === nodeName && c.status?.phase === 'Running' && c.metadata.uid !== undefined)
      .map((c) => ({
        namespace: c.metadata.namespace ?? '',
        name: c.metadata.name ?? '',
        uid: c.metadata.uid ?? '',
        cgroupsPath: cgroupsPathFor(c.metadata.uid ?? ''),
        pid: c.status?.pid,
        startedAt: c.status?.startedAt,
      })),
  );
  const metrics = agentMetrics(manager.metrics.registry, stats);
  const volumes = new LocalVolumes(root);

  const kubeletBackoff: BackoffPolicy = { baseMs: 10_000, maxMs: 300_000 };
  const retryBackoff = options.retryBackoff ?? kubeletBackoff;
  // conmon records each exit under the container's directory; only this composition root knows that. An exit
  // enqueues the Container with the controller made below (no exit can come before the first reconcile).
  const exits = new ExitWatcher(
    (id) => path.join(runtime.containerDir(id), 'exit'),
    (key) => controller.enqueue(requestOf(key)),
  );
  // Without adoptUnbound, only Containers bound to this node are watched at all.
  const informer = await manager.cache.informerFor<KubernetesObject>(
    resources.containers,
    options.adoptUnbound === true ? {} : { fieldSelector: `spec.nodeName=${nodeName}` },
  );
  // berth's Container types its timestamps as strings, client-node's objects as Dates: the same JSON underneath.
  const containers = {
    get: (namespace: string, name: string) => informer.get(namespace, name) as unknown as Container | undefined,
    list: () => informer.list() as unknown as Container[],
  };
  const serviceInformer = await manager.cache.informerFor<KubernetesObject>(resources.services);
  const dns = new NetworkDns(
    // A Service's replicas here only (a bridge network is one node's); a user Network's members on other nodes
    // from its status, since a VXLAN port joins them to this bridge.
    (network, name, client) =>
      containerAddresses(containers.list(), network, name, client) ??
      serviceAddresses(serviceInformer.list() as unknown as Service[], containers.list(), network, name, client) ??
      (network.includes('_')
        ? otherNodesMemberAddresses(
            networkCache.get(network.slice(0, network.indexOf('_')), network.slice(network.indexOf('_') + 1)),
            name,
            nodeName,
          )
        : undefined),
    {
      onError: (err) => logger.warn({ err: err.message }, 'name server failed'),
      nameAt: (network, ip) => containerNameAt(containers.list(), network, ip),
      services: (network, name, client) =>
        serviceRecords(serviceInformer.list() as unknown as Service[], containers.list(), network, name, client),
    },
  );
  const volumeInformer = await manager.cache.informerFor<KubernetesObject>(resources.volumes);
  const volumeCache = {
    get: (namespace: string, name: string) => volumeInformer.get(namespace, name) as unknown as Volume | undefined,
  };
  const networkInformer = await manager.cache.informerFor<KubernetesObject>(resources.networks);
  const networkCache = {
    get: (namespace: string, name: string) => networkInformer.get(namespace, name) as unknown as Network | undefined,
  };
  const volumeSources = (c: Container): VolumeSources => {
    const namespace = c.metadata.namespace ?? '';
    return {
      // A Volume created just before its Container may not be in the cache yet: then ask the API server.
      volume: async (name) => volumeCache.get(namespace, name) ?? (await api.getVolume(namespace, name)),
      configMap: (name) => api.configMapData(namespace, name),
      secret: (name) => api.secretBytes(namespace, name),
      claim: async (seen) => {
        // The cached copy can be older than our own claim: a failed test re-reads and tries again. Other status
        // writes (this agent's own volume reconciler) also move the resourceVersion, so two tries were not enough
        // under load: a run failed with "taken by another node" while no node held it.
        let v: Volume | undefined = seen;
        for (let attempt = 0; attempt < 10 && v !== undefined; attempt++) {
          const node = volumeNode(v);
          if (node !== undefined) return node === nodeName;
          try {
            await api.jsonPatchVolumeStatus(namespace, v.metadata.name ?? '', [
              { op: 'test', path: '/metadata/uid', value: v.metadata.uid },
              { op: 'test', path: '/metadata/resourceVersion', value: v.metadata.resourceVersion },
              v.status === undefined
                ? { op: 'add', path: '/status', value: { nodeName } }
                : { op: 'add', path: '/status/nodeName', value: nodeName },
            ]);
            return true;
          } catch (err) {
            if (!isInvalid(err) && !isConflict(err)) throw err;
            v = await api.getVolume(namespace, v.metadata.name ?? '');
          }
        }
        return false;
      },
    };
  };
  const recorder = manager.eventRecorder('berth-node-agent', { host: nodeName });
  const traces = options.traceFile === undefined ? undefined : lifecycleTraces(options.traceFile, nodeName);
  const events = {
    event: (c: Container, type: 'Normal' | 'Warning', reason: string, message: string) => {
      if (reason === 'Started' && c.metadata.creationTimestamp !== undefined)
        metrics.containerStarted((Date.now() - Date.parse(c.metadata.creationTimestamp)) / 1000);
      traces?.event(c, reason);
      recorder.event(c as unknown as KubernetesObject, type, reason, message);
    },
    forget: (uid: string) => {
      traces?.forget(uid);
      recorder.forget(uid);
    },
    hold: () => recorder.hold(),
  };
  // Probe results re-queue their Container with the controller made below (no probe runs before a reconcile).
  const prober = new Prober({
    exec: execInContainer(runtime),
    event: events.event,
    changed: (key) => controller.enqueue(requestOf(key)),
  });
  const reconciler = new ContainerReconciler({
    nodeName,
    hostIP: nodeInternalIP,
    adoptUnbound: options.adoptUnbound === true,
    api,
    cache: containers,
    runtime,
    snapshots,
    idRanges,
    seccompRoot: options.seccompProfileRoot ?? path.join(root, 'seccomp'),
    networking: {
      networks,
      defaultNetwork: options.defaultNetwork ?? defaultNetwork,
      resolve: async (namespace, name) => {
        const net = await api.getNetwork(namespace, name);
        return net === undefined ? undefined : definitionOf(net, nodeName);
      },
      dns,
    },
    images: new ImagePolicy(metrics.measuredImages(imageStore)),
    events,
    exits,
    restartBackoff: options.restartBackoff ?? kubeletBackoff,
    backoffResetMs: options.backoffResetMs ?? 600_000,
    pollIntervalMs: options.pollIntervalMs ?? 10_000,
    // The runtime and the snapshotter each empty their part of the container's directory; the folder is ours, and
    // so are its emptyDirs.
    released: async (id) => {
      await volumes.release(id);
      await rmdir(runtime.containerDir(id)).catch(() => undefined);
    },
    mounts: (c, rootfs) =>
      containerMounts(c, {
        nodeName,
        volumes,
        sources: volumeSources(c),
        hostPathPrefixes: options.hostPathPrefixes ?? [],
        rootfs,
      }),
    refresh: async (c) => {
      const changed = await refreshProjected(c, volumes, volumeSources(c));
      if (changed.length > 0)
        logger.info(
          { container: `${c.metadata.namespace ?? ''}/${c.metadata.name ?? ''}`, volumes: changed },
          'updated ConfigMap and Secret volumes',
        );
    },
    leftovers: async () => [...(await volumes.owners()), ...idRanges.ids()],
    beforeStop: async (c) => servicePorts?.reconciler.drain(c),
    probes: prober,
    logger,
  });
  // The queue's per-key back-off is the one back-off of failed reconciles (pulls, creates, API errors).
  const controller = new Controller({
    name: 'container',
    reconciler,
    workers,
    baseDelayMs: retryBackoff.baseMs,
    maxDelayMs: retryBackoff.maxMs,
    log: runtimeLogger(logger),
  });
  const volumeController = new Controller({
    name: 'volume',
    reconciler: new VolumeReconciler({
      nodeName,
      adoptUnbound: options.adoptUnbound === true,
      api,
      cache: volumeCache,
      containers,
      volumes,
      event: (v, reason, message) => recorder.event(v as unknown as KubernetesObject, 'Normal', reason, message),
    }),
    workers: 2,
    baseDelayMs: retryBackoff.baseMs,
    maxDelayMs: retryBackoff.maxMs,
    log: runtimeLogger(logger),
  });
  // The routing mesh sees every node's replicas (they share this host's bridges), not only this node's Containers.
  let servicePorts: { controller: Controller; reconciler: ServicePortReconciler; unwatch: () => void } | undefined;
  let spRules: IptablesServicePorts | undefined;
  if (options.servicePorts !== false) {
    const allContainers =
      options.adoptUnbound === true
        ? informer
        : await manager.cache.informerFor<KubernetesObject>(resources.containers);
    spRules = new IptablesServicePorts(createHash('sha256').update(root).digest('hex').slice(0, 8));
    const spReconciler = new ServicePortReconciler({
      services: { list: () => serviceInformer.list() as unknown as Service[] },
      containers: { list: () => allContainers.list() as unknown as Container[] },
      rules: spRules,
      applied: (ports) =>
        logger.info(
          { ports: ports.map((p) => `${p.hostIP}:${p.port}/${p.protocol} → ${p.backends.length}`) },
          'published Service ports',
        ),
    });
    const spController = new Controller({
      name: 'service-ports',
      reconciler: spReconciler,
      baseDelayMs: 500,
      maxDelayMs: 10_000,
      log: runtimeLogger(logger),
    });
    const poke = () => spController.enqueue(servicePortsKey);
    const handler = { add: poke, update: poke, delete: poke };
    const unwatchServices = serviceInformer.addEventHandler(handler);
    const unwatchMembers = allContainers.addEventHandler(handler);
    servicePorts = {
      controller: spController,
      reconciler: spReconciler,
      unwatch: () => {
        unwatchServices();
        unwatchMembers();
      },
    };
  }
  const imageInformer = await manager.cache.informerFor<KubernetesObject>(resources.images);
  const imageCache = {
    get: (namespace: string, name: string) => imageInformer.get(namespace, name) as unknown as Image | undefined,
  };
  const buildLogs = new BuildLogs(root);
  const imageController = new Controller({
    name: 'image',
    reconciler: new ImageReconciler({
      nodeName,
      root,
      api,
      cache: imageCache,
      buildLogs,
      images: imageStore,
      builder,
      list: () => imageInformer.list() as unknown as Image[],
      containers,
      upperDirOf: (uid) => path.join(root, 'containers', uid, 'upper'),
      idRangeOf: (uid) => idRanges.get(uid),
      pause: async (c) => {
        const id = reconciler.lookup(c.metadata.namespace ?? '', c.metadata.name ?? '');
        if (id === undefined || (await runtime.state(id)).status !== 'running') return undefined;
        await runtime.pause(id);
        return () => runtime.resume(id);
      },
      contextPrefixes: options.buildContextPrefixes ?? [],
      allowNetworkHost: options.buildNetworkHost === true,
      event: (i, type, reason, message) => recorder.event(i as unknown as KubernetesObject, type, reason, message),
    }),
    workers: 2,
    baseDelayMs: retryBackoff.baseMs,
    maxDelayMs: retryBackoff.maxMs,
    log: runtimeLogger(logger),
  });
  const enqueueImage = (obj: KubernetesObject) =>
    imageController.enqueue({ namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' });
  const unwatchImages = imageInformer.addEventHandler({
    add: enqueueImage,
    update: (_old, obj) => {
      enqueueImage(obj);
      // Being deleted (`berth rmi`, with the garbage collector's foreground finalizer maybe): its name goes now.
      if (obj.metadata?.deletionTimestamp !== undefined) imageController.enqueue(namesSweepKey);
    },
    // A deleted Image may leave a local name no Image holds.
    delete: () => imageController.enqueue(namesSweepKey),
  });
  const networkController = new Controller({
    name: 'network',
    reconciler: new NetworkReconciler({
      networks,
      nodeName,
      cache: networkCache,
      dns,
      log: (message, fields) => logger.info(fields, message),
    }),
    workers: 1,
    baseDelayMs: retryBackoff.baseMs,
    maxDelayMs: retryBackoff.maxMs,
    log: runtimeLogger(logger),
  });
  const unwatchContainers = informer.addEventHandler(containerChanges((req) => controller.enqueue(req)));
  const networksOf = (obj: KubernetesObject) =>
    ((obj as unknown as Container).spec?.networks ?? []).map((n) => ({
      namespace: obj.metadata?.namespace ?? '',
      name: n.name,
    }));
  // A Network that changes (its subnet allocated, an overlap settled) retries the Containers here that name it
  // and are not running yet now, not after their back-off; one that goes is removed from this node once its
  // Containers are.
  const onNetwork = (obj: KubernetesObject) => {
    const key = { namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' };
    networkController.enqueue(key);
    for (const c of containers.list()) {
      if (c.metadata.namespace !== key.namespace || c.status?.phase === 'Running') continue;
      if ((c.spec.networks ?? []).some((n) => n.name === key.name))
        controller.enqueue({ namespace: key.namespace, name: c.metadata.name ?? '' });
    }
  };
  const unwatchNetworks = networkInformer.addEventHandler({
    add: onNetwork,
    update: (_old, obj) => onNetwork(obj),
    delete: (obj) =>
      networkController.enqueue({ namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' }),
  });
  const unwatchLeavers = informer.addEventHandler({
    add: () => undefined,
    update: () => undefined,
    delete: (obj) => {
      for (const r of networksOf(obj)) networkController.enqueue(r);
    },
  });
  // A Volume's users are Containers: every change of one re-checks the Volumes it names (protection, usedBy).
  const volumesOf = (obj: KubernetesObject) =>
    volumeRefs(obj as unknown as Container).map((name) => ({ namespace: obj.metadata?.namespace ?? '', name }));
  const enqueueVolumes = (...objs: KubernetesObject[]) => {
    for (const obj of objs) for (const r of volumesOf(obj)) volumeController.enqueue(r);
  };
  const unwatchUsers = informer.addEventHandler({
    add: (obj) => enqueueVolumes(obj),
    update: (oldObj, newObj) => enqueueVolumes(oldObj, newObj),
    delete: (obj) => enqueueVolumes(obj),
  });
  const unwatchVolumes = volumeInformer.addEventHandler({
    add: (obj) =>
      volumeController.enqueue({ namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' }),
    update: (_old, obj) =>
      volumeController.enqueue({ namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '' }),
    delete: () => undefined,
  });
  const unwatch = () => {
    servicePorts?.unwatch();
    unwatchContainers();
    unwatchNetworks();
    unwatchLeavers();
    unwatchUsers();
    unwatchVolumes();
    unwatchImages();
  };

  let heartbeat: NodeHeartbeat | undefined;
  let streaming: StreamingServer | undefined;
  const timers: NodeJS.Timeout[] = [];
  const socketPath = path.join(root, 'agent.sock');
  try {
    if (options.serveStreaming !== false) {
      streaming = new StreamingServer({
        socketPath,
        lookup: (namespace, name) => reconciler.lookup(namespace, name),
        runtime: metrics.measuredStreaming(runtime),
        logFilesOf: (id) => runtime.logFiles(id),
        addressOf: async (id) => (await networks.get(id))?.addresses[0]?.ip,
        onError: (err) => logger.warn({ err: (err as Error).message }, 'streaming failed'),
        statsSummary: () => stats.summary(),
        images: new ImageTransfer(imageStore, imageCache, buildLogs),
        diskUsage: () => diskUsage({ root, content: imageStore.content, names: imageStore.names }),
      });
      await streaming.start();
    }
    const machine = await machineStatus(host, `unix:${socketPath}`);
    heartbeat = await NodeHeartbeat.start({
      api,
      nodeName,
      ...(options.tunnelAddress !== undefined
        ? { annotations: { [tunnelAddressAnnotation]: options.tunnelAddress } }
        : {}),
      machine,
      ...(options.leaseRenewIntervalMs !== undefined ? { renewIntervalMs: options.leaseRenewIntervalMs } : {}),
      onError: (err) => logger.warn({ err: apiErrorMessage(err) }, 'lease renewal failed'),
    });
    // Once the cache is filled and before any worker runs: what is on disk but no longer in the cluster goes; the
    // rest is adopted by reconcile. The manager starts its runnables in order.
    await manager.add({ start: async () => void (await reconciler.sweepOrphans()), stop: async () => undefined });
    // The published ports of the adopted containers: their rules outlived the last agent, its sockets did not.
    for (const refused of await networks.holdPublishedPorts())
      logger.warn({ refused }, 'a published port is taken by another program; its connections go to the container');
    // Name servers of the networks the adopted containers are on (they live in this process, not with conmon).
    const recordedNetworks = await networks.networks();
    for (const id of await networks.list()) {
      for (const a of (await networks.get(id))?.addresses ?? []) {
        // Keyed as the reconciler keys it: the network's id, found by the subnet the address is in (subnets on one
        // node never overlap).
        const ip = parseIpv4(a.ip) ?? -1;
        const key =
          recordedNetworks.find((r) => {
            const range = r.name === a.network ? cidrRange(r.subnet) : undefined;
            return range !== undefined && ip >= range[0] && ip <= range[1];
          })?.id ?? a.network;
        if (a.gateway !== undefined)
          await dns
            .ensure(key, a.gateway)
            .catch((err: unknown) =>
              logger.warn({ err: (err as Error).message, network: a.network }, 'name server could not start'),
            );
      }
    }
    await manager.add(controller);
    await manager.add(volumeController);
    if (servicePorts !== undefined) {
      await manager.add(servicePorts.controller);
      servicePorts.controller.enqueue(servicePortsKey);
    }
    await manager.add(networkController);
    await manager.add(imageController);
    await manager.start();
    // Networks removed from the cluster while this agent was down.
    for (const n of await networks.networks()) {
      const key = networkKey(n.id);
      if (key !== undefined) networkController.enqueue(key);
    }
  } catch (err) {
    unwatch();
    await streaming?.close();
    await heartbeat?.close();
    await manager.close();
    exits.close();
    prober.close();
    await dns.close();
    await networks.releasePorts();
    await imageStore.close();
    api.close();
    throw err;
  }

  if (options.imageGc !== false) {
    const gcOptions = options.imageGc ?? {};
    // In use: the names given here, the Images this node holds, the images of the Containers bound here.
    const roots = async (): Promise<string[]> => [
      ...(await imageStore.names.list()).map((n) => n.digest),
      ...(imageInformer.list() as unknown as Image[]).flatMap((i) =>
        i.status?.digest !== undefined && (i.status.nodes ?? []).some((n) => n.nodeName === nodeName)
          ? [i.status.digest]
          : [],
      ),
      ...containers.list().flatMap((c) => {
        const id = c.status?.imageID ?? '';
        return id.includes('@sha256:') ? [id.slice(id.indexOf('@') + 1)] : [];
      }),
    ];
    const gc = setInterval(() => {
      roots()
        .then((r) => collectImageGarbage(imageStore, root, r, gcOptions))
        .then((result) => {
          if (result.removed.length > 0)
            logger.info({ blobs: result.removed.length, bytes: result.freedBytes }, 'image garbage collected');
        })
        .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'image garbage collection failed'));
    }, 300_000);
    gc.unref();
    timers.push(gc);
  }

  const rotate = setInterval(() => {
    runtime
      .rotateLogs({ maxBytes: options.logMaxBytes ?? 10 * 1024 * 1024 })
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'log rotation failed'));
  }, 10_000);
  rotate.unref();
  timers.push(rotate);

  let closed: Promise<void> | undefined;
  return {
    nodeName,
    root,
    host,
    runtime,
    lookup: (namespace, name) => reconciler.lookup(namespace, name),
    get metricsUrl() {
      return manager.metricsUrl;
    },
    statsSummary: () => stats.summary(),
    close() {
      closed ??= (async () => {
        for (const t of timers) clearInterval(t);
        await streaming?.close();
        unwatch();
        // The controller stops first (reconciles in flight finish their step: a create or stop is not cut in half),
        // then Events are flushed and the watch closed.
        await manager.close();
        if (options.removeServicePortsOnClose === true)
          await servicePorts?.reconciler
            .removeAll()
            .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'removing Service ports failed'));
        // The rules stay (the containers keep serving); the sockets holding their ports go with this agent.
        spRules?.releasePorts();
        await networks.releasePorts();
        exits.close();
        prober.close();
        await dns.close();
        await heartbeat?.close();
        await imageStore.close();
        api.close();
        if (options.logger === undefined) baseLogger.flush();
      })();
      return closed;
    },
  };
}
