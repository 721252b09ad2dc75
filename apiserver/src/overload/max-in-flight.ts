// Overload protection (kube-apiserver's --max-requests-inflight and --max-mutating-requests-inflight): at most so
// many read-only and so many mutating requests are served at once; one more is answered 429 TooManyRequests with
// `Retry-After: 1`, as Kubernetes words it, so clients back off instead of piling on. Long-running requests
// (watches, logs, exec, attach) are not counted, and `system:masters` is never refused, so the admin can always
// get in to see what is going on.

import type { Middleware } from 'koa';
import { checkInteger } from '@berth/api';
import { ApiError } from '../errors/api-error.js';
import { privilegedGroup } from '../authorization/rbac/rbac-authorizer.js';
import type { RequestInfo } from '../request-chain/request-info.js';
import type { RequestState } from '../request-chain/state.js';

export interface InFlightLimits {
  /** Read-only requests served at once; 0 for no limit. @default 400 */
  readonly maxReadOnly?: number;
  /** Writes served at once; 0 for no limit. @default 200 */
  readonly maxMutating?: number;
}

const readOnlyVerbs = new Set(['get', 'list', 'head', 'options']);
const longRunningSubresources = new Set(['log', 'exec', 'attach', 'portforward', 'proxy']);

const longRunning = (info: RequestInfo): boolean =>
  info.verb === 'watch' ||
  info.query.get('watch') === 'true' ||
  info.query.get('watch') === '1' ||
  longRunningSubresources.has(info.resource?.subresource ?? '');

export const tooManyRequests = (): ApiError =>
  new ApiError('TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: 1 });

export function maxInFlight(limits: InFlightLimits = {}): Middleware<RequestState> {
  const maxReadOnly = limits.maxReadOnly ?? 400;
  const maxMutating = limits.maxMutating ?? 200;
  checkInteger('ApiServer', 'maxRequestsInFlight', maxReadOnly, 0);
  checkInteger('ApiServer', 'maxMutatingRequestsInFlight', maxMutating, 0);
  let readOnly = 0;
  let mutating = 0;
  return async (ctx, next) => {
    const info = ctx.state.requestInfo;
    if (info === undefined || longRunning(info)) return next();
    const isRead = readOnlyVerbs.has(info.verb);
    const limit = isRead ? maxReadOnly : maxMutating;
    const current = isRead ? readOnly : mutating;
    if (limit > 0 && current >= limit) {
      if (!(ctx.state.user?.groups.includes(privilegedGroup) ?? false)) {
        ctx.set('Retry-After', '1');
        throw tooManyRequests();
      }
      return next();
    }
    if (isRead) readOnly++;
    else mutating++;
    try {
      await next();
    } finally {
      if (isRead) readOnly--;
      else mutating--;
    }
  };
}
