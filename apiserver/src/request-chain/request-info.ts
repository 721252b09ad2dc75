// The first step of the request chain: what a request addresses, read once from its method and URL (Kubernetes'
// RequestInfoFactory), kept on the request's state for every later step.

import { parseResourcePath, requestTarget, type ResourceRequest } from '../http/request-info.js';
import type { RequestFilter } from './state.js';

export interface RequestInfo {
  readonly method: string;
  /** The URL path as sent (undecoded, dot segments unresolved), one trailing slash dropped. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The resource addressed, or undefined for a non-resource path (discovery, /version, /openapi…). */
  readonly resource: ResourceRequest | undefined;
  /** The resource verb (`get`, `watch`, `create`…), or the lowercased method for a non-resource path. */
  readonly verb: string;
}

/** Reads a request's method and URL; a malformed resource path is the client's error (400). */
export function readRequestInfo(method: string, url: string | undefined): RequestInfo {
  // Read as sent, never resolved: `…/web/..` must not become the collection (see requestTarget).
  const { path, query } = requestTarget(url);
  // Only /api/… and /apis/… can name resources; other paths are never decoded as resource segments.
  const first = path.split('/')[1];
  const resource = first === 'api' || first === 'apis' ? parseResourcePath(method, path, query) : undefined;
  return { method, path, query, resource, verb: resource?.verb ?? method.toLowerCase() };
}

export const requestInfo: RequestFilter = (req, state) => {
  state.requestInfo = readRequestInfo(req.method ?? 'GET', req.url);
};
