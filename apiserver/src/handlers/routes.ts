// The route table of the API server: every non-resource path it serves (version, health, discovery, OpenAPI),
// then every resource path, each to its handler. Resource paths are told apart by the request info, not here.

import { ApiError, methodNotAllowed, pathNotFound } from '../errors/api-error.js';
import {
  aggregatedContentType,
  aggregatedContentTypeBeta,
  aggregatedDiscovery,
  apiGroupDocument,
  apiGroupList,
  apiResourceList,
  apiVersions,
  wantsAggregated,
} from '../discovery/discovery.js';
import type { OpenApiCache } from '../openapi/openapi.js';
import type { Reply } from '../request-chain/reply.js';
import type { Route, RouteCall } from '../request-chain/router.js';
import type { Store } from '../storage/interface.js';
import type { WatchCache } from '../storage/watch-cache.js';
import { isProxied, proxiedMethods, relayRequest, resolveAgent } from './node-proxy.js';
import { handleResource, type ResourceHandlerDeps } from './resources.js';
import { podEventsQuery } from '../pod-view/pod-events.js';
import { isPodRequest, servePods } from '../pod-view/pod-requests.js';

export interface RouteDeps extends ResourceHandlerDeps {
  readonly store: Store;
  readonly cache: WatchCache;
  readonly openapi: OpenApiCache;
  readonly version: unknown;
  /** The cluster CA (PEM), served at /cacerts for joining agents to check against their token's hash (as k3s). */
  readonly caCert: string;
  /** What keeps the data: /readyz?verbose checks it under this name (`[+]etcd ok`, as kube-apiserver does). */
  readonly storeBackend?: 'etcd' | 'level';
}

const read = ['GET', 'HEAD'] as const;
const resourceMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const json = (body: unknown): Reply => ({ status: 200, body });
const found = <T>(value: T | undefined): T => {
  if (value === undefined) throw pathNotFound();
  return value;
};

export function routes(deps: RouteDeps): Route[] {
  const { registry, openapi } = deps;
  const health = (): Reply => ({ status: 200, body: 'ok', type: 'text/plain' });
  const checks = readyChecks(deps);
  /** kube-apiserver's /readyz: `ok`, or with ?verbose each check on its line (`[+]etcd ok`) and the verdict. */
  const readyz = async ({ info }: RouteCall): Promise<Reply> => {
    if (!info.query.has('verbose')) return health();
    const results = await Promise.all([...checks].map(async ([name, check]) => [name, await check()] as const));
    const passed = results.every(([, ok]) => ok);
    const lines = results.map(([name, ok]) => (ok ? `[+]${name} ok` : `[-]${name} failed: reason withheld`));
    return {
      status: passed ? 200 : 500,
      body: `${lines.join('\n')}\nreadyz check ${passed ? 'passed' : 'failed'}\n`,
      type: 'text/plain',
    };
  };
  /** One check alone (`/readyz/etcd`), as kube-apiserver serves each. */
  const readyzCheck = async ({ params }: RouteCall): Promise<Reply> => {
    const check = found(checks.get(params['check'] ?? ''));
    return (await check())
      ? health()
      : { status: 500, body: `[-]${params['check'] ?? ''} failed: reason withheld\n`, type: 'text/plain' };
  };
  const discoveryRoot =
    (core: boolean) =>
    (call: RouteCall): Reply => {
      const aggregated = wantsAggregated(call.ctx.get('accept'));
      if (aggregated === undefined) return json(core ? apiVersions() : apiGroupList(registry));
      return {
        status: 200,
        type: aggregated === 'v2' ? aggregatedContentType : aggregatedContentTypeBeta,
        body: aggregatedDiscovery(registry, core, aggregated),
      };
    };
  return [
    { methods: read, path: '/version', handle: () => json(deps.version) },
    { methods: read, path: '/livez', handle: health },
    { methods: read, path: '/healthz', handle: health },
    { methods: read, path: '/readyz', handle: readyz },
    { methods: read, path: '/readyz/:check', handle: readyzCheck },
    { methods: read, path: '/cacerts', handle: () => ({ status: 200, body: deps.caCert, type: 'text/plain' }) },
    { methods: read, path: '/api', handle: discoveryRoot(true) },
    { methods: read, path: '/apis', handle: discoveryRoot(false) },
    {
      methods: read,
      path: '/api/:version',
      handle: ({ params }) => json(found(apiResourceList(registry, '', params['version']!))),
    },
    {
      methods: read,
      path: '/apis/:group',
      handle: ({ params }) => json(found(apiGroupDocument(registry, params['group']!))),
    },
    {
      methods: read,
      path: '/apis/:group/:version',
      handle: ({ params }) => json(found(apiResourceList(registry, params['group']!, params['version']!))),
    },
    // An empty protobuf document: kubectl finds no schema and leaves validation to the server.
    {
      methods: read,
      path: '/openapi/v2',
      handle: () => ({ status: 200, body: '', type: 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf' }),
    },
    { methods: read, path: '/openapi/v3', handle: () => json(openapi.index()) },
    {
      methods: read,
      path: '/openapi/v3/*',
      handle: ({ ctx, params }) => {
        const doc = found(openapi.documents().get(params['*']!));
        ctx.set('ETag', `"${doc.hash}"`);
        if (ctx.get('if-none-match') === `"${doc.hash}"`) return { status: 304, body: '' };
        return { status: 200, body: doc.body };
      },
    },
    { methods: resourceMethods, path: { resource: true }, handle: (call) => resourceRoute(deps, call) },
  ];
}

async function resourceRoute(deps: RouteDeps, call: RouteCall): Promise<Reply | undefined> {
  const { ctx, info, signal } = call;
  const resource = info.resource!;
  const query = podEventsQuery(resource, info.query);
  if (resource.verb === 'watch') await awaitWatchRevision(deps, query.get('resourceVersion'), signal);
  const request = { info: resource, req: ctx.req, res: ctx.res, query, userAgent: ctx.get('user-agent'), signal };
  if (isPodRequest(resource)) return servePods(deps, { ...request, user: call.user });
  if (isProxied(resource.group, resource.resource, resource.subresource)) {
    const sub = resource.subresource ?? '';
    const method = proxiedMethods.get(sub);
    if (method === undefined)
      throw new ApiError('BadRequest', `${sub} requires a WebSocket upgrade (v5.channel.k8s.io)`);
    if (info.method !== method) throw methodNotAllowed(info.method, `${resource.resource}/${sub}`);
    const target = await resolveAgent(
      deps.objects,
      deps.registry,
      resource.group,
      resource.version,
      resource.namespace ?? '',
      resource.name ?? '',
      sub,
      query.toString(),
      resource.resource === 'images' ? 'images' : 'containers',
    );
    await relayRequest(target, ctx.req, ctx.res, signal);
    return undefined;
  }
  return handleResource(deps, { ...request, user: call.user });
}

/**
 * A watch from a revision the store has not reached is refused (on a store other servers write, once it has not
 * arrived within 3 s, as Kubernetes' watch cache waits); one the cache has not caught up to waits for it.
 */
async function awaitWatchRevision(deps: RouteDeps, rv: string | null, signal: AbortSignal): Promise<void> {
  if (rv === null || !/^\d+$/.test(rv)) return;
  const { store, cache } = deps;
  if (Number(rv) > store.revision() && !(store.shared && (await caughtUp(cache, Number(rv), signal)))) {
    throw new ApiError('Timeout', `Too large resource version: ${rv}, current: ${store.revision()}`, {
      retryAfterSeconds: 1,
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    });
  }
  if (Number(rv) > cache.revision()) await cache.waitFor(Number(rv), signal);
}

/** Whether the cache reaches `revision` within 3 s. */
function caughtUp(cache: RouteDeps['cache'], revision: number, signal: AbortSignal): Promise<boolean> {
  return cache.waitFor(revision, AbortSignal.any([signal, AbortSignal.timeout(3000)])).then(
    () => true,
    () => false,
  );
}

/** How long the store may take to answer a read before /readyz calls it failed (kube-apiserver's etcd check: 2 s). */
const storeCheckTimeoutMs = 2_000;

/** The checks /readyz?verbose runs: the server answering, and a read of the store under its backend's name. */
function readyChecks(deps: RouteDeps): ReadonlyMap<string, () => Promise<boolean>> {
  const checks = new Map<string, () => Promise<boolean>>([['ping', async () => true]]);
  if (deps.storeBackend !== undefined)
    checks.set(deps.storeBackend, async () => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), storeCheckTimeoutMs);
      });
      const read = deps.store.get('/registry/health').then(
        () => true,
        () => false,
      );
      return Promise.race([read, late]).finally(() => clearTimeout(timer));
    });
  return checks;
}
