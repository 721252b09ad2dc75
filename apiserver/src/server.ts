// berth's API server: the request chain (request-chain/chain.ts) over HTTPS, the generic object store over the
// durable store, and the in-server loops Kubernetes keeps there, put together as one object with a lifecycle.

import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Authenticator, type UserInfo } from './authentication/authenticator.js';
import { identityReviews } from './authentication/identity-reviews.js';
import { ServiceAccountTokens } from './authentication/service-account-tokens.js';
import { ApiError } from './errors/api-error.js';
import { noAdmission, type Admission } from './admission/admission.js';
import { nodeRestriction } from './admission/node-restriction/node-restriction.js';
import { resourceQuota } from './admission/resource-quota/resource-quota.js';
import { podSecurity, type PodSecurityOptions } from './admission/pod-security/pod-security.js';
import { accessReviews } from './authorization/access-reviews.js';
import type { Authorizer } from './authorization/authorizer.js';
import { ClusterRoleAggregation } from './authorization/rbac/aggregation.js';
import { escalationCheck } from './authorization/rbac/escalation.js';
import { nodeAuthorizer } from './authorization/node/node-authorizer.js';
import { NodeGraph } from './authorization/node/node-graph.js';
import { RbacAuthorizer } from './authorization/rbac/rbac-authorizer.js';
import { RbacIndex } from './authorization/rbac/rbac-index.js';
import { bootstrap } from './bootstrap/bootstrap.js';
import { CrdSync } from './crd-establishment/crd-sync.js';
import { checkInteger, goArchitecture, InvalidArgumentError } from '@berth/api';
import type { EncryptionConfig } from './encryption/encryption-config.js';
import { EncryptingStore } from './encryption/encrypting-store.js';
import { AuditLog, type AuditLogOptions } from './audit/audit-log.js';
import { defaultAuditPolicy, type AuditPolicy } from './audit/audit-policy.js';
import { auditStep, auditUpgrade } from './audit/audit-step.js';
import { maxInFlight } from './overload/max-in-flight.js';
import { EventExpiry } from './event-ttl/event-expiry.js';
import type { FieldOwnership } from './field-ownership/ownership.js';
import { defaultLogger, type Logger } from './logging/logger.js';
import { managedFieldOwnership } from './field-ownership/managed-field-ownership.js';
import { agentUpgrade, writeUpgradeError } from './handlers/node-proxy.js';
import { routes } from './handlers/routes.js';
import { answerClientError, answerConnect } from './http/socket-answers.js';
import { ObjectStore } from './objects/object-store.js';
import { OpenApiCache } from './openapi/openapi.js';
import type { Pki } from './pki/pki.js';
import { nodeCertificateSigning } from './pki/node-certificates.js';
import { ResourceRegistry } from './registry/registry.js';
import { strategyFor } from './registry/strategies/index.js';
import { requestApp, upgradeListener, type ChainOptions } from './request-chain/chain.js';
import type { Store } from './storage/interface.js';
import { WatchCache } from './storage/watch-cache.js';
import type { WatchSource } from './watch/watch-stream.js';
import { ApiServerMetrics } from './metrics/api-metrics.js';
import { metricsRoute } from './metrics/metrics-route.js';
import { resourceMetricsRoutes } from './metrics/resource-metrics.js';
import { measured, measuredUpgrade, tracked } from './metrics/request-metrics.js';
import { instrumentedStore } from './metrics/store-metrics.js';
import { dashboardFiles, defaultDashboardDir } from './dashboard/dashboard-files.js';

export interface ApiServerOptions {
  readonly store: Store;
  readonly pki: Pki;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Bearer tokens besides the admin token (node agents, controllers). */
  readonly extraTokens?: ReadonlyMap<string, UserInfo>;
  /** Field ownership engine (managedFields, apply, strategic merge). */
  readonly fields?: FieldOwnership;
  /** How often watches that allow bookmarks get one. @default 60_000 */
  readonly bookmarkIntervalMs?: number;
  /** Events the watch cache keeps (how far back watches can resume). */
  readonly watchCacheCapacity?: number;
  /** Decides whether an authenticated user may make a request. @default RBAC */
  readonly authorizer?: Authorizer;
  /** Mutating then validating admission plugins every write passes. @default none */
  readonly admission?: Admission;
  /** Caps the lifetime of ServiceAccount tokens (kube-apiserver's --service-account-max-token-expiration). @default none */
  readonly serviceAccountMaxTokenExpirationSeconds?: number;
  /** Where the server logs (pino). @default warnings and errors as JSON lines on stderr */
  readonly logger?: Logger;
  /** Pod Security admission of Containers; false turns it off. @default baseline in every unlabelled namespace */
  readonly podSecurity?: PodSecurityOptions | false;
  /** Resources encrypted at rest and their keys (an EncryptionConfiguration). @default none: plaintext */
  readonly encryption?: EncryptionConfig;
  /** Where audit events go (JSON lines, rotated) and what the policy logs. @default no audit log */
  readonly audit?: AuditLogOptions & { readonly policy?: AuditPolicy };
  /** Read-only requests served at once, long-running ones aside (0: no limit). @default 400 */
  readonly maxRequestsInFlight?: number;
  /** Writes served at once (0: no limit). @default 200 */
  readonly maxMutatingRequestsInFlight?: number;
  /** The built web dashboard served at /dashboard/; false serves none. @default @berth/dashboard's dist/ */
  readonly dashboardDir?: string | false;
}

export const kubernetesVersion = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-berth',
  gitCommit: '',
  gitTreeState: 'clean',
  buildDate: '2026-11-25T00:00:00Z',
  goVersion: 'node',
  compiler: 'tsc',
  platform: `${process.platform}/${goArchitecture(process.arch)}`,
};

export class ApiServer {
  private constructor(
    private readonly server: Server,
    private readonly cache: WatchCache,
    private readonly background: { close(): Promise<void> }[],
    /** Every open client socket, destroyed on close. */
    private readonly sockets: Set<Duplex>,
    readonly url: string,
    readonly registry: ResourceRegistry,
  ) {}

  static async start(options: ApiServerOptions): Promise<ApiServer> {
    checkOptions(options);
    const metrics = new ApiServerMetrics();
    // Timed where the store is reached: under encryption, so the store's own latency is what is measured.
    const measuredStore = instrumentedStore(options.store, metrics);
    const encrypting =
      options.encryption === undefined ? undefined : new EncryptingStore(measuredStore.store, options.encryption);
    const store = encrypting ?? measuredStore.store;
    // Before anything reads: what an older key (or none) sealed is sealed again with the current one.
    await encrypting?.reencrypt();
    const log = options.logger ?? defaultLogger();
    const registry = new ResourceRegistry(strategyFor);
    const rbacIndex = new RbacIndex();
    const rbac = new RbacAuthorizer(rbacIndex);
    const nodeGraph = new NodeGraph();
    const admission = options.admission ?? noAdmission;
    const namespaceLabels = (namespace: string) =>
      objects.namespaceState(namespace).then(
        (ns) => ns?.labels,
        () => undefined,
      );
    // Escalation prevention runs first among the validating plugins: it guards RBAC itself.
    const objects: ObjectStore = new ObjectStore(store, registry, {
      mutating: admission.mutating,
      validating: [
        escalationCheck(rbac),
        nodeRestriction,
        ...(options.podSecurity === false ? [] : [podSecurity(namespaceLabels, options.podSecurity)]),
        ...admission.validating,
        // Last, as in Kubernetes: a create is charged to a quota only once every other plugin let it through.
        resourceQuota(
          () => objects,
          () => registry.get('', 'v1', 'resourcequotas'),
        ),
      ],
    });
    const cache = new WatchCache(
      store,
      options.watchCacheCapacity === undefined
        ? {}
        : { capacity: options.watchCacheCapacity, preload: Math.min(4096, options.watchCacheCapacity) },
    );
    const watchSource: WatchSource = { watch: (prefix, after, trigger) => cache.subscribe(prefix, after, trigger) };
    const crdSync = new CrdSync(store, watchSource, registry, log);
    const events = new EventExpiry(store, undefined, undefined, log);
    const aggregation = new ClusterRoleAggregation(
      objects,
      registry.get('rbac.authorization.k8s.io', 'v1', 'clusterroles')!,
      log,
    );
    const background: { close(): Promise<void> }[] = [
      crdSync,
      events,
      rbacIndex,
      nodeGraph,
      aggregation,
      { close: async () => measuredStore.close() },
    ];
    const stopBackground = async () => {
      for (const b of background) await b.close().catch(() => undefined);
      cache.close();
    };
    try {
      await crdSync.start();
      await bootstrap(objects, registry);
      await crdSync.refresh();
      // After bootstrap, so the first list already holds the shipped policy.
      await rbacIndex.start(store, watchSource, log);
      await nodeGraph.start(store, watchSource, log);
      await aggregation.start(store, watchSource);
      events.start();
    } catch (e) {
      await stopBackground();
      throw e;
    }

    const tokens = new Map(options.extraTokens ?? []);
    tokens.set(options.pki.adminToken, { name: 'admin', groups: ['system:masters', 'system:authenticated'] });
    const serviceAccounts = registry.get('', 'v1', 'serviceaccounts')!;
    const secrets = registry.get('', 'v1', 'secrets')!;
    const serviceAccountTokens = new ServiceAccountTokens({
      signingKey: options.pki.serviceAccountKey,
      ...(options.serviceAccountMaxTokenExpirationSeconds === undefined
        ? {}
        : { maxExpirationSeconds: options.serviceAccountMaxTokenExpirationSeconds }),
      lookup: (namespace, name) =>
        objects.get({ resource: serviceAccounts, namespace }, name).catch((e: unknown) => {
          if (ApiError.isInstance(e) && e.reason === 'NotFound') return undefined;
          throw e;
        }),
      lookupSecret: (namespace, name) =>
        objects.get({ resource: secrets, namespace }, name).catch((e: unknown) => {
          if (ApiError.isInstance(e) && e.reason === 'NotFound') return undefined;
          throw e;
        }),
    });
    const authenticator = new Authenticator(tokens, serviceAccountTokens, (name) =>
      objects.get({ resource: secrets, namespace: 'kube-system' }, name).catch((e: unknown) => {
        if (ApiError.isInstance(e) && e.reason === 'NotFound') return undefined;
        throw e;
      }),
    );
    const auditLog = options.audit === undefined ? undefined : new AuditLog(options.audit);
    if (auditLog !== undefined) background.push({ close: () => auditLog.close() });
    const authorizer = options.authorizer ?? nodeAuthorizer(nodeGraph, rbac);
    const chain: ChainOptions = {
      ...(auditLog === undefined
        ? {}
        : {
            audit: auditStep(auditLog, options.audit?.policy ?? defaultAuditPolicy),
            auditUpgrade: auditUpgrade(auditLog, options.audit?.policy ?? defaultAuditPolicy),
          }),
      inFlight: maxInFlight({
        ...(options.maxRequestsInFlight === undefined ? {} : { maxReadOnly: options.maxRequestsInFlight }),
        ...(options.maxMutatingRequestsInFlight === undefined
          ? {}
          : { maxMutating: options.maxMutatingRequestsInFlight }),
      }),
      ...(options.dashboardDir === false
        ? {}
        : { publicFiles: dashboardFiles(options.dashboardDir ?? defaultDashboardDir()) }),
      authenticator,
      authorizer,
      log,
      measure: {
        outer: measured(metrics),
        routed: tracked(metrics, (info) => {
          const r = info.resource;
          return r === undefined ? '' : (registry.get(r.group, r.version, r.resource)?.kind ?? r.resource);
        }),
        upgrade: measuredUpgrade(metrics),
      },
      routes: [
        metricsRoute(metrics),
        ...resourceMetricsRoutes({ objects, registry }),
        ...routes({
          registry,
          objects,
          watchSource,
          fields: options.fields ?? managedFieldOwnership,
          bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000,
          reviews: new Map([
            ...accessReviews(authorizer, rbac),
            ...identityReviews(authenticator),
            ['/serviceaccounts/token', serviceAccountTokens.tokenRequest],
            ['certificates.k8s.io/certificatesigningrequests', nodeCertificateSigning(options.pki)],
          ]),
          store,
          cache,
          openapi: new OpenApiCache(registry),
          version: kubernetesVersion,
          caCert: options.pki.caCert,
          ...(options.store.backend !== undefined ? { storeBackend: options.store.backend } : {}),
        }),
      ],
    };
    const app = requestApp(chain);

    const server = createServer(
      {
        cert: options.pki.serverCert,
        key: options.pki.serverKey,
        ca: options.pki.caCert,
        requestCert: true,
        rejectUnauthorized: false,
        keepAliveTimeout: 65_000,
      },
      app.callback(),
    );
    // Every socket, from the TCP accept on: closeAllConnections() misses upgraded sockets and connections still in
    // their TLS handshake, and a client that reconnects during close() would otherwise keep the server open.
    const sockets = new Set<Duplex>();
    server.on('connection', (socket: Duplex) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    // No TLS renegotiation, as kube-apiserver (Go's TLS server never renegotiates): a connection's client
    // certificate is then the one of its handshake, so authentication reads it once per connection.
    server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
    server.on('upgrade', upgradeListener(chain, agentUpgrade(objects, registry), writeUpgradeError));
    // Requests that never reach the chain (unparsable, CONNECT) still get a Status.
    server.on('clientError', answerClientError);
    server.on('connect', answerConnect);
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      await stopBackground();
      throw e;
    }
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return new ApiServer(server, cache, background, sockets, `https://${host}:${address.port}`, registry);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of this.sockets) socket.destroy();
    });
    for (const b of this.background) await b.close();
    this.cache.close();
  }
}

/**
 * Options are refused before any I/O: a 0 bookmark interval would become `setInterval(…, 0)` on every watch, a
 * bad port an error from deep inside listen().
 */
function checkOptions(options: ApiServerOptions): void {
  checkInteger('ApiServer', 'bookmarkIntervalMs', options.bookmarkIntervalMs);
  checkInteger('ApiServer', 'watchCacheCapacity', options.watchCacheCapacity);
  checkInteger('ApiServer', 'serviceAccountMaxTokenExpirationSeconds', options.serviceAccountMaxTokenExpirationSeconds);
  checkInteger('ApiServer', 'port', options.port, 0);
  checkInteger('ApiServer', 'maxRequestsInFlight', options.maxRequestsInFlight, 0);
  checkInteger('ApiServer', 'maxMutatingRequestsInFlight', options.maxMutatingRequestsInFlight, 0);
  if (options.port > 65_535)
    throw new InvalidArgumentError(`ApiServer option port must be at most 65535, got ${options.port}`);
  if (options.host === '') throw new InvalidArgumentError('ApiServer option host must not be empty');
}
