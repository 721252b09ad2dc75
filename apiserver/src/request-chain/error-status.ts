// The outermost step of the request chain: any error a later step throws is answered as a Kubernetes Status
// (through errors/status.ts, the one table); an unexpected one is logged and answered as a bare 500.

import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import { toApiError } from '../errors/status.js';
import type { Status } from '../errors/api-error.js';
import type { RequestState } from './state.js';

/** The Status for `e`, logging it when it is an internal error (its details are never answered). */
export function answerStatus(e: unknown, log: Logger, state: RequestState): Status {
  const { error, internal } = toApiError(e);
  if (internal)
    log.error(
      {
        err: e,
        requestId: state.requestId,
        path: state.requestInfo?.path,
        verb: state.requestInfo?.verb,
        user: state.user?.name,
      },
      'internal error',
    );
  return error.toStatus();
}

export const errorStatus =
  (log: Logger): Middleware<RequestState> =>
  async (ctx, next) => {
    try {
      await next();
    } catch (e) {
      // A failure after the answer began (a watch, a relayed log) can only cut the stream short.
      if (ctx.res.headersSent) {
        ctx.respond = false;
        ctx.res.destroy();
        return;
      }
      const status = answerStatus(e, log, ctx.state);
      ctx.status = status.code ?? 500;
      ctx.type = 'application/json';
      ctx.body = JSON.stringify(status);
    }
  };
