// Every request gets an id (Kubernetes' Audit-Id: sent back as a header, carried by every log line about the
// request), and at level debug one JSON line when it is answered, as kube-apiserver's httplog writes at -v=3.

import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { RequestState } from '../request-chain/state.js';

export function requestLog(log: Logger): Middleware<RequestState> {
  return async (ctx, next) => {
    const requestId = randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('Audit-Id', requestId);
    const start = performance.now();
    try {
      await next();
    } finally {
      if (log.isLevelEnabled('debug')) {
        const info = ctx.state.requestInfo;
        log.debug(
          {
            requestId,
            verb: info?.verb ?? ctx.method.toLowerCase(),
            path: info?.path ?? ctx.path,
            code: ctx.res.statusCode,
            user: ctx.state.user?.name,
            userAgent: ctx.get('user-agent'),
            ms: Math.round((performance.now() - start) * 100) / 100,
          },
          'request',
        );
      }
    }
  };
}
