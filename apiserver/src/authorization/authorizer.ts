// Authorization: the plug point that decides whether a user may make a request (Kubernetes' authorizer.Authorizer),
// filled by RBAC (rbac/) unless the server is given another, and Kubernetes' 403 wording.

import { ApiError } from '../errors/api-error.js';
import type { UserInfo } from '../authentication/authenticator.js';
import type { RequestInfo } from '../request-chain/request-info.js';

export type Decision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

export interface Authorizer {
  authorize(user: UserInfo, request: RequestInfo): Decision | Promise<Decision>;
}

/** Every authenticated request may go on (tests and benchmarks that measure the rest of the chain). */
export const alwaysAllow: Authorizer = { authorize: () => ({ allowed: true }) };

/** Resolves when `user` may make `request`; otherwise a 403 worded as Kubernetes words it. */
export async function authorize(authorizer: Authorizer, user: UserInfo, request: RequestInfo): Promise<void> {
  const decision = await authorizer.authorize(user, request);
  if (decision.allowed) return;
  throw forbidden(user, request, decision.reason);
}

function forbidden(user: UserInfo, request: RequestInfo, reason: string): ApiError {
  const r = request.resource;
  const why = reason === '' ? '' : `: ${reason}`;
  if (r === undefined) {
    return new ApiError(
      'Forbidden',
      `forbidden: User "${user.name}" cannot ${request.verb} path "${request.path}"${why}`,
    );
  }
  const resource = r.subresource === undefined ? r.resource : `${r.resource}/${r.subresource}`;
  const where = r.namespace === undefined ? 'at the cluster scope' : `in the namespace "${r.namespace}"`;
  const what = r.name === undefined ? '' : ` "${r.name}"`;
  return new ApiError(
    'Forbidden',
    `${r.resource}${r.group === '' ? '' : `.${r.group}`}${what} is forbidden: User "${user.name}" cannot ${r.verb} resource "${resource}" in API group "${r.group}" ${where}${why}`,
    { ...(r.name === undefined ? {} : { name: r.name }), group: r.group, kind: r.resource },
  );
}
