// The last step of the request chain: finds the route for a request in the route table (method + path pattern,
// or "any resource path") and writes what its handler answers. No route is a 404, as on a Kubernetes server.

import type { Middleware, ParameterizedContext } from 'koa';
import type { UserInfo } from '../authentication/authenticator.js';
import { pathNotFound } from '../errors/api-error.js';
import { writeReply, type Reply } from './reply.js';
import type { RequestInfo } from './request-info.js';
import { required, type RequestState } from './state.js';

export interface RouteCall {
  readonly ctx: ParameterizedContext<RequestState>;
  readonly info: RequestInfo;
  readonly user: UserInfo;
  readonly signal: AbortSignal;
  /** Values of the pattern's `:name` segments, and `*` for the rest of the path. */
  readonly params: Readonly<Record<string, string>>;
}

export interface Route {
  readonly methods: readonly string[];
  /**
   * `/apis/:group/:version` (`:name` matches one segment, a final `*` the rest), or `resource` for every path
   * the request info read as a resource (their shapes are the request info's job, not the table's).
   */
  readonly path: string | { readonly resource: true };
  handle(call: RouteCall): Reply | undefined | Promise<Reply | undefined>;
}

/** The params of `pattern` for `path`, or undefined when it does not match. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  return matchSegments(segments(pattern), segments(path));
}

const segments = (path: string): string[] => path.split('/').filter((s) => s !== '');

function matchSegments(want: readonly string[], have: readonly string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if (w === '*' && i === want.length - 1) {
      if (have.length <= i) return undefined;
      params['*'] = have.slice(i).join('/');
      return params;
    }
    const h = have[i];
    if (h === undefined) return undefined;
    if (w.startsWith(':')) params[w.slice(1)] = h;
    else if (w !== h) return undefined;
  }
  return have.length === want.length ? params : undefined;
}

/** A route with its methods and pattern segments worked out once, not on every request it is tried for. */
interface TableEntry {
  readonly route: Route;
  readonly methods: ReadonlySet<string>;
  /** undefined: the resource route. */
  readonly want: readonly string[] | undefined;
}

function find(
  table: readonly TableEntry[],
  info: RequestInfo,
): { route: Route; params: Record<string, string> } | undefined {
  let have: string[] | undefined;
  for (const { route, methods, want } of table) {
    if (!methods.has(info.method)) continue;
    if (want === undefined) {
      if (info.resource !== undefined) return { route, params: {} };
      continue;
    }
    have ??= segments(info.path);
    const params = matchSegments(want, have);
    if (params !== undefined) return { route, params };
  }
  return undefined;
}

export const router = (routes: readonly Route[]): Middleware<RequestState> => {
  const table: TableEntry[] = routes.map((route) => ({
    route,
    methods: new Set(route.methods),
    want: typeof route.path === 'string' ? segments(route.path) : undefined,
  }));
  return async (ctx) => {
    const info = required(ctx.state, 'requestInfo');
    const found = find(table, info);
    if (found === undefined) throw pathNotFound();
    const reply = await found.route.handle({
      ctx,
      info,
      user: required(ctx.state, 'user'),
      signal: required(ctx.state, 'signal'),
      params: found.params,
    });
    writeReply(ctx, reply);
  };
};
