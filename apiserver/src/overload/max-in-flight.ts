// Overload protection (kube-apiserver's --max-requests-inflight and --max-mutating-requests-inflight): at most so
// many read-only and so many mutating requests are served at once; one more is answered 429 TooManyRequests with
// `Retry-After: 1`, as Kubernetes words it, so clients back off instead of piling on. The seats are shared fairly
// between users (fair-seats.ts, API Priority and Fairness' flows by user): one user flooding is refused past its
// share while another's request waits for the next free seat. A watch holds a read-only seat while it initializes
// (until its headers go out, after the initial list is read), as APF counts watch initialization, so a flood of
// watches from one user queues on its own share; once streaming, watches, logs, exec and attach are not counted.
// `system:masters` is exempt, so the admin can always get in to see what is going on.

import { createHash } from 'node:crypto';
import type { Middleware } from 'koa';
import { checkInteger } from '@berth/api';
import { ApiError } from '../errors/api-error.js';
import { privilegedGroup } from '../authorization/rbac/rbac-authorizer.js';
import type { RequestInfo } from '../request-chain/request-info.js';
import type { RequestState } from '../request-chain/state.js';
import { FairSeats } from './fair-seats.js';

export interface InFlightLimits {
  /** Read-only requests served at once; 0 for no limit. @default 400 */
  readonly maxReadOnly?: number;
  /** Writes served at once; 0 for no limit. @default 200 */
  readonly maxMutating?: number;
  /** How long a user below its fair share may wait for a seat. @default 15000 */
  readonly maxWaitMs?: number;
}

const readOnlyVerbs = new Set(['get', 'list', 'head', 'options']);
const longRunningSubresources = new Set(['log', 'exec', 'attach', 'portforward', 'proxy']);

const isWatch = (info: RequestInfo): boolean =>
  info.verb === 'watch' || info.query.get('watch') === 'true' || info.query.get('watch') === '1';
const longRunning = (info: RequestInfo): boolean => longRunningSubresources.has(info.resource?.subresource ?? '');

export const tooManyRequests = (): ApiError =>
  new ApiError('TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: 1 });

/** A stable UID for a name, as the FlowSchema and PriorityLevelConfiguration objects APF names would have. */
const uidOf = (name: string): string => {
  const h = createHash('sha1').update(`berth.dev/flowcontrol/${name}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
/** APF's two suggested levels berth has: the admin's (exempt) and everyone's (global-default, flows by user). */
const exempt = { flowSchema: uidOf('exempt'), priorityLevel: uidOf('exempt') };
const globalDefault = { flowSchema: uidOf('global-default'), priorityLevel: uidOf('global-default') };

export function maxInFlight(limits: InFlightLimits = {}): Middleware<RequestState> {
  const maxReadOnly = limits.maxReadOnly ?? 400;
  const maxMutating = limits.maxMutating ?? 200;
  checkInteger('ApiServer', 'maxRequestsInFlight', maxReadOnly, 0);
  checkInteger('ApiServer', 'maxMutatingRequestsInFlight', maxMutating, 0);
  const wait = limits.maxWaitMs === undefined ? {} : { maxWaitMs: limits.maxWaitMs };
  const readOnly = new FairSeats({ limit: maxReadOnly, ...wait });
  const mutating = new FairSeats({ limit: maxMutating, ...wait });
  return async (ctx, next) => {
    const info = ctx.state.requestInfo;
    if (info === undefined || longRunning(info)) return next();
    const user = ctx.state.user;
    const level = (user?.groups.includes(privilegedGroup) ?? false) ? exempt : globalDefault;
    ctx.set('X-Kubernetes-PF-FlowSchema-UID', level.flowSchema);
    ctx.set('X-Kubernetes-PF-PriorityLevel-UID', level.priorityLevel);
    // system:masters is exempt, as APF's exempt level: never queued, never refused.
    if (level === exempt) return next();
    const watch = isWatch(info);
    const seats = watch || readOnlyVerbs.has(info.verb) ? readOnly : mutating;
    const seat = await seats.acquire(user?.name ?? '', ctx.state.signal);
    if (typeof seat !== 'function') {
      ctx.set('Retry-After', '1');
      throw tooManyRequests();
    }
    let held = true;
    const release = () => {
      if (held) seat();
      held = false;
    };
    if (watch) {
      // Every watch handler writes its headers once its initial events are ready: initialization ends there.
      const res = ctx.res;
      const writeHead = res.writeHead;
      res.writeHead = function (this: typeof res, ...args: Parameters<typeof writeHead>) {
        release();
        return writeHead.apply(this, args);
      } as typeof writeHead;
    }
    try {
      await next();
    } finally {
      release();
    }
  };
}
