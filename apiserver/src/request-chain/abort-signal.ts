// The request's AbortSignal: it aborts when the client goes away before its answer is complete, so long
// work (watches, relayed logs, waits on the watch cache) stops with it.

import type { Middleware } from 'koa';
import type { RequestState } from './state.js';

export const abortSignal: Middleware<RequestState> = async (ctx, next) => {
  const controller = new AbortController();
  // A request's own 'close' fires once its body is read; the response's tells that the client left.
  ctx.res.on('close', () => {
    if (!ctx.res.writableFinished) controller.abort();
  });
  ctx.state.signal = controller.signal;
  await next();
};
