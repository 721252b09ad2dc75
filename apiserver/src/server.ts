// berth's API server: HTTPS, authentication, discovery, OpenAPI and the REST verbs over the durable store, put
// together as one object with a lifecycle (start, close).

import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import Koa from 'koa';
import { Authenticator, type UserInfo } from './auth/authenticate.js';
import {
  aggregatedContentType,
  aggregatedContentTypeBeta,
  aggregatedDiscovery,
  apiGroupDocument,
  apiGroupList,
  apiResourceList,
  apiVersions,
  wantsAggregated,
} from './discovery/discovery.js';
import { ApiError, pathNotFound, type Status } from './errors/api-error.js';
import { checkInteger, InvalidArgumentError } from './errors/invalid-argument.js';
import { toApiError } from './errors/status.js';
import type { FieldOwnership } from './field-ownership/ownership.js';
import { managedFieldOwnership } from './field-ownership/managed-field-ownership.js';
import { handleResource } from './handlers/resources.js';
import { isProxied, relayRequest, relayUpgrade, resolveAgent, writeUpgradeError } from './handlers/node-proxy.js';
import { parseResourcePath, requestTarget } from './http/request-info.js';
import { answerClientError, answerConnect } from './http/socket-answers.js';
import { bootstrap } from './bootstrap/bootstrap.js';
import { CrdSync } from './crd-establishment/crd-sync.js';
import { EventExpiry } from './event-ttl/event-expiry.js';
import { NamespaceCleanup } from './lifecycle/namespace-cleanup.js';
import { ObjectStore } from './objects/object-store.js';
import { OpenApiCache } from './openapi/openapi.js';
import type { Pki } from './pki/pki.js';
import { ResourceRegistry } from './registry/registry.js';
import { strategyFor } from './registry/strategies.js';
import type { Store } from './storage/interface.js';
import { WatchCache } from './storage/watch-cache.js';
import type { WatchSource } from './watch/watch-stream.js';

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
  platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
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
    const { store } = options;
    const registry = new ResourceRegistry(strategyFor);
    const objects = new ObjectStore(store, registry);
    const cache = new WatchCache(store, options.watchCacheCapacity === undefined ? {} : { capacity: options.watchCacheCapacity, preload: Math.min(4096, options.watchCacheCapacity) });
    const watchSource: WatchSource = { watch: (prefix, after) => cache.subscribe(prefix, after) };
    const crdSync = new CrdSync(store, watchSource, registry);
    const namespaces = new NamespaceCleanup(store, watchSource, registry, objects);
    const events = new EventExpiry(store);
    const background = [crdSync, namespaces, events];
    const stopBackground = async () => {
      for (const b of background) await b.close().catch(() => undefined);
      cache.close();
    };
    try {
      await crdSync.start();
      await bootstrap(objects, registry);
      await crdSync.refresh();
      await namespaces.start();
      events.start();
    } catch (e) {
      await stopBackground();
      throw e;
    }

    const tokens = new Map(options.extraTokens ?? []);
    tokens.set(options.pki.adminToken, { name: 'admin', groups: ['system:masters', 'system:authenticated'] });
    const authenticator = new Authenticator(tokens);
    const openapi = new OpenApiCache(registry);
    const deps = { registry, objects, watchSource, fields: options.fields ?? managedFieldOwnership, bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000 };

    const app = new Koa();
    // Clients closing watches mid-stream are normal; errors are answered as Statuses below, not logged by koa.
    app.silent = true;
    app.use(async (ctx) => {
      const controller = new AbortController();
      // The client went away before the answer was complete (a request's own 'close' fires once its body is read).
      ctx.res.on('close', () => {
        if (!ctx.res.writableFinished) controller.abort();
      });
      try {
        const { path, query } = requestTarget(ctx.req.url);
        authenticator.authenticate(ctx.req, path);
        const reply = await route(ctx, path, query, controller.signal);
        if (reply === undefined) {
          ctx.respond = false;
          return;
        }
        ctx.status = reply.status;
        ctx.type = reply.type ?? 'application/json';
        for (const w of reply.warnings ?? []) ctx.res.appendHeader('Warning', `299 - ${headerSafeQuote(w)}`);
        ctx.body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
      } catch (e) {
        if (ctx.res.headersSent) {
          ctx.respond = false;
          ctx.res.destroy();
          return;
        }
        const status = toStatus(e);
        ctx.status = status.code ?? 500;
        ctx.type = 'application/json';
        ctx.body = JSON.stringify(status);
      }
    });

    interface RouteReply {
      status: number;
      body: unknown;
      type?: string;
      warnings?: readonly string[];
    }

    async function route(ctx: Koa.Context, path: string, query: URLSearchParams, signal: AbortSignal): Promise<RouteReply | undefined> {
      const method = ctx.method;
      const json = (body: unknown): RouteReply => ({ status: 200, body });
      if (method === 'GET' || method === 'HEAD') {
        switch (path) {
          case '/version':
            return json(kubernetesVersion);
          case '/livez':
          case '/healthz':
          case '/readyz':
            return { status: 200, body: 'ok', type: 'text/plain' };
          case '/api':
          case '/apis': {
            const aggregated = wantsAggregated(ctx.get('accept'));
            if (aggregated !== undefined) {
              return {
                status: 200,
                type: aggregated === 'v2' ? aggregatedContentType : aggregatedContentTypeBeta,
                body: aggregatedDiscovery(registry, path === '/api', aggregated),
              };
            }
            return json(path === '/api' ? apiVersions() : apiGroupList(registry));
          }
          case '/openapi/v2':
            // An empty protobuf document: kubectl finds no schema and leaves validation to the server.
            return { status: 200, body: '', type: 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf' };
          case '/openapi/v3':
            return json(openapi.index());
        }
        if (path.startsWith('/openapi/v3/')) {
          const doc = openapi.documents().get(path.slice('/openapi/v3/'.length));
          if (doc === undefined) throw pathNotFound();
          ctx.set('ETag', `"${doc.hash}"`);
          if (ctx.get('if-none-match') === `"${doc.hash}"`) return { status: 304, body: '' };
          return { status: 200, body: doc.body };
        }
        const parts = path.split('/').filter((p) => p !== '');
        if (parts[0] === 'api' && parts.length === 2) {
          const list = apiResourceList(registry, '', parts[1]!);
          if (list !== undefined) return json(list);
        }
        if (parts[0] === 'apis' && parts.length === 2) {
          const group = apiGroupDocument(registry, parts[1]!);
          if (group !== undefined) return json(group);
        }
        if (parts[0] === 'apis' && parts.length === 3) {
          const list = apiResourceList(registry, parts[1]!, parts[2]!);
          if (list !== undefined) return json(list);
        }
      }
      const info = parseResourcePath(method, path, query);
      if (info === undefined) throw pathNotFound();
      if (isProxied(info.group, info.resource, info.subresource)) {
        if (info.subresource !== 'log' || method !== 'GET') throw new ApiError('BadRequest', `${info.subresource} requires a WebSocket upgrade (v5.channel.k8s.io)`);
        const target = await resolveAgent(objects, registry, info.group, info.version, info.namespace ?? '', info.name ?? '', 'log', query.toString());
        await relayRequest(target, ctx.req, ctx.res, signal);
        return undefined;
      }
      if (info.verb === 'watch') {
        const rv = query.get('resourceVersion');
        if (rv !== null && /^\d+$/.test(rv) && Number(rv) > store.revision()) {
          throw new ApiError('Timeout', `Too large resource version: ${rv}, current: ${store.revision()}`, { retryAfterSeconds: 1, causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }] });
        }
        if (rv !== null && /^\d+$/.test(rv) && Number(rv) > cache.revision()) await cache.waitFor(Number(rv), signal);
      }
      return handleResource(deps, info, ctx.req, ctx.res, query, ctx.get('user-agent'), signal);
    }

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
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // Node leaves an upgraded socket without an error listener: a client reset would otherwise crash the server.
      socket.on('error', () => socket.destroy());
      void (async () => {
        try {
          const url = requestTarget(req.url);
          authenticator.authenticate(req, url.path);
          const info = parseResourcePath('GET', url.path, url.query);
          if (info === undefined || !isProxied(info.group, info.resource, info.subresource) || info.subresource === 'log') throw pathNotFound();
          const target = await resolveAgent(objects, registry, info.group, info.version, info.namespace ?? '', info.name ?? '', info.subresource!, url.query.toString());
          relayUpgrade(target, req, socket, head);
        } catch (e) {
          writeUpgradeError(socket, toStatus(e));
        }
      })();
    });
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
  checkInteger('ApiServer', 'port', options.port, 0);
  if (options.port > 65_535) throw new InvalidArgumentError(`ApiServer option port must be at most 65535, got ${options.port}`);
  if (options.host === '') throw new InvalidArgumentError('ApiServer option host must not be empty');
}

/** A quoted header value: JSON string escapes, and \uXXXX for anything outside printable ASCII (headers are Latin-1). */
function headerSafeQuote(text: string): string {
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Every failure becomes a Kubernetes Status; anything unexpected is a 500 that names no internals (and is logged). */
function toStatus(e: unknown): Status {
  const { error, internal } = toApiError(e);
  if (internal) console.error('berth: internal error:', e);
  return error.toStatus();
}
