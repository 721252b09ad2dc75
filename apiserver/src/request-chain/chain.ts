// The request chain, in order. Plain requests run as koa middleware:
//
//   errorStatus → abortSignal → (the dashboard's files) → requestInfo → authentication → impersonation → authorization → router (route table →
//   handler)
//
// and an upgrade (exec, attach over WebSocket) runs the same requestInfo → authentication → impersonation →
// authorization steps before its handler, its errors answered through the same Status table. Admission is not a step here:
// it runs inside the object store's write path, where the object being written is known.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Koa, { type Middleware } from 'koa';
import type { Logger } from 'pino';
import type { Authenticator } from '../authentication/authenticator.js';
import type { Authorizer } from '../authorization/authorizer.js';
import { abortSignal } from './abort-signal.js';
import { authentication } from './authentication.js';
import { authorization } from './authorization.js';
import { impersonation } from './impersonation.js';
import { answerStatus, errorStatus } from './error-status.js';
import { requestLog } from '../logging/request-log.js';
import { requestInfo } from './request-info.js';
import { router, type Route } from './router.js';
import type { RequestFilter, RequestState } from './state.js';
import type { Status } from '../errors/api-error.js';
import type { UpgradeAudit } from '../audit/audit-step.js';
import type { UpgradeMeasure } from '../metrics/request-metrics.js';

export interface ChainOptions {
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  readonly routes: readonly Route[];
  readonly log: Logger;
  /** The audit step (audit/audit-step.ts), around everything after the abort signal. */
  readonly audit?: Middleware<RequestState>;
  /** The audit of upgrades (exec, attach, port-forward), which never pass the koa app. */
  readonly auditUpgrade?: UpgradeAudit;
  /** The in-flight limit (overload/max-in-flight.ts), after authorization, before the router. */
  readonly inFlight?: Middleware<RequestState>;
  /** Steps that measure requests: `outer` before errorStatus, `routed` just before the router, `upgrade` for
   * exec, attach and port-forward (metrics/). */
  readonly measure?: {
    readonly outer: Middleware<RequestState>;
    readonly routed: Middleware<RequestState>;
    readonly upgrade?: UpgradeMeasure;
  };
  /** Files served to anyone ahead of authentication (the dashboard's page and scripts, dashboard/). */
  readonly publicFiles?: Middleware<RequestState>;
}

/** The steps every request passes before its handler, plain or upgrade, in order. */
export const requestFilters = (options: ChainOptions): readonly RequestFilter[] => [
  requestInfo,
  authentication(options.authenticator),
  impersonation(options.authorizer),
  authorization(options.authorizer),
];

const asMiddleware =
  (filter: RequestFilter): Middleware<RequestState> =>
  async (ctx, next) => {
    await filter(ctx.req, ctx.state);
    await next();
  };

/** The koa app that answers plain requests. */
export function requestApp(options: ChainOptions): Koa<RequestState> {
  const app = new Koa<RequestState>();
  // Clients closing watches mid-stream are normal; errors are answered as Statuses by errorStatus, not logged by koa.
  app.silent = true;
  if (options.measure !== undefined) app.use(options.measure.outer);
  app.use(requestLog(options.log));
  app.use(errorStatus(options.log));
  app.use(abortSignal);
  if (options.publicFiles !== undefined) app.use(options.publicFiles);
  if (options.audit !== undefined) app.use(options.audit);
  for (const filter of requestFilters(options)) app.use(asMiddleware(filter));
  if (options.inFlight !== undefined) app.use(options.inFlight);
  if (options.measure !== undefined) app.use(options.measure.routed);
  app.use(router(options.routes));
  return app;
}

/** What serves an upgrade once the chain let it through. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, state: RequestState) => Promise<void>;

/** A listener for the server's 'upgrade' event: the same steps as a plain request, then `handle`. */
export function upgradeListener(
  options: ChainOptions,
  handle: UpgradeHandler,
  writeError: (socket: Duplex, status: Status) => void,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const filters = requestFilters(options);
  return (req, socket, head) => {
    // Node leaves an upgraded socket without an error listener: a client reset would otherwise crash the server.
    socket.on('error', () => socket.destroy());
    const state: RequestState = { requestId: randomUUID() };
    const received = new Date().toISOString();
    const measured = options.measure?.upgrade?.(state, socket);
    void (async () => {
      try {
        for (const filter of filters) await filter(req, state);
        await handle(req, socket, head, state);
        options.auditUpgrade?.(req, state, undefined, received);
        measured?.(101);
      } catch (e) {
        const status = answerStatus(e, options.log, state);
        options.auditUpgrade?.(req, state, status, received);
        measured?.(status.code ?? 500);
        writeError(socket, status);
      }
    })();
  };
}
