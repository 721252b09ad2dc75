// Reads a Kubernetes REST path into what it addresses (group, version, namespace, resource, name,
// subresource) and the verb, the way the Kubernetes apiserver's RequestInfoFactory does.

import { badRequest, methodNotAllowed } from '../errors/api-error.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export interface ResourceRequest {
  readonly group: string;
  readonly version: string;
  readonly namespace?: string;
  readonly resource: string;
  readonly name?: string;
  readonly subresource?: string;
  readonly verb: Verb;
}

/** Subresources of a namespace that are not namespaced collections. */
const namespaceSubresources = new Set(['status', 'finalize']);

/** A request target as sent: its path (undecoded) and its query. */
export interface RequestTarget {
  readonly path: string;
  readonly query: URLSearchParams;
}

/**
 * Splits a request target without resolving it. The WHATWG URL parser would resolve `..`, `.` and their encoded
 * forms (`%2e%2e`), so `DELETE …/configmaps/web/..` would address the collection; Kubernetes' Go server resolves
 * nothing either: such segments reach the router as they are and end as a 400 (names) or a 404 (anything else).
 */
export function requestTarget(rawUrl: string | undefined): RequestTarget {
  let raw = rawUrl ?? '/';
  // The absolute form (`GET https://host/api`), which HTTP/1.1 servers must accept: keep only path and query.
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(raw);
  if (scheme !== null) raw = raw.slice(scheme[0].length) || '/';
  const hash = raw.indexOf('#');
  if (hash >= 0) raw = raw.slice(0, hash);
  const q = raw.indexOf('?');
  let path = q < 0 ? raw : raw.slice(0, q);
  // One trailing slash names the same thing (Kubernetes' request info trims it); anything else stays as sent.
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  return { path, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

/** Returns the resource addressed by `path`, or undefined when it is not a resource path (discovery, /version…). */
export function parseResourcePath(method: string, path: string, query: URLSearchParams): ResourceRequest | undefined {
  const raw = path.split('/');
  // An empty segment (`//`) is no route on a Kubernetes server; it must not be skipped into another path.
  if (raw[0] !== '' || raw.slice(1).some((p) => p === '')) return undefined;
  const parts = raw.slice(1).map(decodeSegment);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !namespaceSubresources.has(rest[2]!)) rest = rest.slice(2);
  }
  const [resource, name, subresource, ...extra] = rest;
  if (resource === undefined || extra.length > 0) return undefined;
  if (resource === 'namespaces' && name !== undefined) namespace = undefined;
  if ([group, version, resource, subresource ?? ''].some(isNotARouteSegment)) return undefined;
  if (namespace !== undefined) checkPathSegmentName('Namespace', namespace);
  if (name !== undefined) checkPathSegmentName('Name', name);
  const verb = verbOf(method, name !== undefined, query.get('watch'));
  if (verb === undefined) throw methodNotAllowed(method, path);
  return {
    group,
    version,
    resource,
    verb,
    ...(namespace === undefined ? {} : { namespace }),
    ...(name === undefined ? {} : { name }),
    ...(subresource === undefined ? {} : { subresource }),
  };
}

/** Dot segments and decoded slashes are no group, version, resource or subresource: no route, a 404. */
const isNotARouteSegment = (s: string): boolean => s === '.' || s === '..' || s.includes('/');

/** Kubernetes' path.IsValidPathSegmentName, answered as its storage key functions answer it (400 BadRequest). */
function checkPathSegmentName(what: 'Name' | 'Namespace', value: string): void {
  const problems: string[] = [];
  if (value === '.' || value === '..') problems.push(`may not be '${value}'`);
  if (value.includes('/')) problems.push("may not contain '/'");
  if (value.includes('%')) problems.push("may not contain '%'");
  if (problems.length > 0)
    throw badRequest(`${what} parameter invalid: ${JSON.stringify(value)}: ${problems.join(';')}`);
}

/** A path segment, percent-decoded; a malformed escape is the client's error. */
function decodeSegment(segment: string): string {
  // Without a `%` there is nothing to decode (decodeURIComponent would return the segment as it is, slower).
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`malformed percent-encoding in the request path: ${JSON.stringify(segment)}`);
  }
}

function verbOf(method: string, hasName: boolean, watch: string | null): Verb | undefined {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch === 'true' || watch === '1') return 'watch';
      return hasName ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return undefined;
  }
}
