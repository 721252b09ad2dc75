// The audit step of the request chain (Kubernetes' WithAudit): around everything after it, so 401s, 403s and
// handler errors are logged too, it writes one audit.k8s.io/v1 Event per request at the level the policy gives:
// who, verb, objectRef, response code, times and the Audit-ID (echoed in the `Audit-Id` response header), the
// request body from Request on and the response body at RequestResponse. Watches and streams are logged when the
// response starts.

import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { toApiError } from '../errors/status.js';
import { decodeBody } from '../http/body.js';
import { receivedBodies } from '../http/received-body.js';
import type { RequestState } from '../request-chain/state.js';
import type { AuditLog } from './audit-log.js';
import { auditLevel, type AuditPolicy } from './audit-policy.js';

const longRunning = new Set(['log', 'exec', 'attach', 'portforward', 'proxy']);
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const asJson = (body: unknown): unknown => {
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    try {
      return JSON.parse(body.toString());
    } catch {
      return undefined;
    }
  }
  return body !== null && typeof body === 'object' && typeof (body as { pipe?: unknown }).pipe !== 'function'
    ? body
    : undefined;
};

/** The authorizer's 403 names the user (authorization/authorizer.ts); admission's refusals do not. */
const deniedByAuthorizer = (message: string | undefined): boolean =>
  message !== undefined && /forbidden: User ".*" cannot /.test(message);

export function auditStep(log: AuditLog, policy: AuditPolicy): Middleware<RequestState> {
  return async (ctx, next) => {
    const received = new Date().toISOString();
    const sent = ctx.get('Audit-ID');
    const auditID = uuid.test(sent) ? sent : randomUUID();
    ctx.set('Audit-Id', auditID);
    let failure: { error: unknown } | undefined;
    try {
      await next();
    } catch (e) {
      failure = { error: e };
    }
    const info = ctx.state.requestInfo;
    const user = ctx.state.user;
    const level = info === undefined ? 'None' : auditLevel(policy, user, info);
    if (info !== undefined && level !== 'None') {
      const status = failure === undefined ? undefined : toApiError(failure.error).error.toStatus();
      const code = status?.code ?? ctx.status;
      const r = info.resource;
      const raw = receivedBodies.get(ctx.req);
      let requestObject: unknown;
      if (level !== 'Metadata' && raw !== undefined && raw.length > 0) {
        try {
          requestObject = decodeBody(raw, ctx.get('Content-Type'));
        } catch {
          requestObject = undefined;
        }
      }
      const responseObject = level === 'RequestResponse' ? (status ?? asJson(ctx.body)) : undefined;
      log.write({
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        level,
        auditID,
        stage: info.verb === 'watch' || longRunning.has(r?.subresource ?? '') ? 'ResponseStarted' : 'ResponseComplete',
        requestURI: ctx.originalUrl,
        verb: info.verb,
        user:
          user === undefined
            ? {}
            : { username: user.name, ...(user.uid === undefined ? {} : { uid: user.uid }), groups: user.groups },
        sourceIPs: [ctx.req.socket.remoteAddress ?? ''],
        userAgent: ctx.get('User-Agent'),
        ...(r === undefined
          ? {}
          : {
              objectRef: {
                resource: r.resource,
                ...(r.namespace === undefined ? {} : { namespace: r.namespace }),
                ...(r.name === undefined ? {} : { name: r.name }),
                apiGroup: r.group,
                apiVersion: r.version,
                ...(r.subresource === undefined ? {} : { subresource: r.subresource }),
              },
            }),
        responseStatus: {
          metadata: {},
          code,
          ...(status === undefined ? {} : { status: 'Failure', reason: status.reason, message: status.message }),
        },
        ...(requestObject === undefined ? {} : { requestObject }),
        ...(responseObject === undefined ? {} : { responseObject }),
        requestReceivedTimestamp: received,
        stageTimestamp: new Date().toISOString(),
        ...(user === undefined
          ? {}
          : {
              annotations: {
                'authorization.k8s.io/decision': deniedByAuthorizer(status?.message) ? 'forbid' : 'allow',
              },
            }),
      });
    }
    if (failure !== undefined) throw failure.error;
  };
}
