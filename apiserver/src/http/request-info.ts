// Reads a Kubernetes REST path into what it addresses (group, version, namespace, resource, name,
// subresource) and the verb, the way the Kubernetes apiserver's RequestInfoFactory does.

import { badRequest } from '../errors/api-error.js';

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

/** Returns the resource addressed by `path`, or undefined when it is not a resource path (discovery, /version…). */
export function parseResourcePath(method: string, path: string, query: URLSearchParams): ResourceRequest | undefined {
  const parts = path.split('/').filter((p) => p !== '').map(decodeSegment);
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
  const verb = verbOf(method, name !== undefined, query.get('watch'));
  if (verb === undefined) return undefined;
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

/** A path segment, percent-decoded; malformed escapes and encoded slashes are the client's error. */
function decodeSegment(segment: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    throw badRequest(`malformed percent-encoding in the request path: ${JSON.stringify(segment)}`);
  }
  if (decoded.includes('/')) throw badRequest(`a path segment may not contain "/": ${JSON.stringify(decoded)}`);
  return decoded;
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
