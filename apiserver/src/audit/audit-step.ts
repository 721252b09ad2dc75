// The audit step of the request chain (Kubernetes' WithAudit): around everything after it, so 401s, 403s and
// handler errors are logged too, it writes one audit.k8s.io/v1 Event per request at the level the policy gives:
// who, verb, objectRef, response code, times and the Audit-ID (echoed in the `Audit-Id` response header), the
// request body from Request on and the response body at RequestResponse. Watches and streams are logged when the
// response starts.

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Middleware } from 'koa';
import type { UserInfo } from '../authentication/authenticator.js';
import type { Status } from '../errors/api-error.js';
import { toApiError } from '../errors/status.js';
import { decodeBody } from '../http/body.js';
import { receivedBodies } from '../http/received-body.js';
import { streamedListJson } from '../request-chain/reply.js';
import type { RequestState } from '../request-chain/state.js';
import type { AuditLog } from './audit-log.js';
import { auditLevel, type AuditPolicy } from './audit-policy.js';

const longRunning = new Set(['log', 'exec', 'attach', 'portforward', 'proxy']);
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const asJson = (body: unknown): unknown => {
  const listed = streamedListJson(body);
  if (listed !== undefined) return JSON.parse(listed);
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

const auditUser = (user: UserInfo | undefined) =>
  user === undefined
    ? {}
    : { username: user.name, ...(user.uid === undefined ? {} : { uid: user.uid }), groups: user.groups };

/** What one request came to, from the koa app or the upgrade path alike. */
interface Outcome {
  readonly state: RequestState;
  readonly auditID: string;
  readonly received: string;
  readonly requestURI: string;
  readonly sourceIP: string;
  readonly userAgent: string;
  readonly code: number;
  readonly status: Status | undefined;
  readonly requestObject: () => unknown;
  readonly responseObject: () => unknown;
  /** An upgraded stream is logged when it starts, as Kubernetes logs long-running requests. */
  readonly started: boolean;
}

function writeEvent(log: AuditLog, policy: AuditPolicy, o: Outcome): void {
  const info = o.state.requestInfo;
  const user = o.state.user;
  const level = info === undefined ? 'None' : auditLevel(policy, user, info);
  if (info === undefined || level === 'None') return;
  const r = info.resource;
  const requestObject = level === 'Metadata' ? undefined : o.requestObject();
  const responseObject = level === 'RequestResponse' ? (o.status ?? o.responseObject()) : undefined;
  const actor = o.state.impersonatedBy;
  log.write({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level,
    auditID: o.auditID,
    stage:
      o.started || info.verb === 'watch' || longRunning.has(r?.subresource ?? '')
        ? 'ResponseStarted'
        : 'ResponseComplete',
    requestURI: o.requestURI,
    verb: info.verb,
    // Kubernetes' user is who authenticated; whom they acted as is impersonatedUser.
    user: auditUser(actor ?? user),
    ...(actor === undefined || user === undefined ? {} : { impersonatedUser: auditUser(user) }),
    sourceIPs: [o.sourceIP],
    userAgent: o.userAgent,
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
      code: o.code,
      ...(o.status === undefined ? {} : { status: 'Failure', reason: o.status.reason, message: o.status.message }),
    },
    ...(requestObject === undefined ? {} : { requestObject }),
    ...(responseObject === undefined ? {} : { responseObject }),
    requestReceivedTimestamp: o.received,
    stageTimestamp: new Date().toISOString(),
    ...(user === undefined
      ? {}
      : {
          annotations: {
            'authorization.k8s.io/decision': deniedByAuthorizer(o.status?.message) ? 'forbid' : 'allow',
          },
        }),
  });
}

const auditIdOf = (sent: string | undefined): string => (sent !== undefined && uuid.test(sent) ? sent : randomUUID());

export function auditStep(log: AuditLog, policy: AuditPolicy): Middleware<RequestState> {
  return async (ctx, next) => {
    const received = new Date().toISOString();
    const auditID = auditIdOf(ctx.get('Audit-ID'));
    ctx.set('Audit-Id', auditID);
    let failure: { error: unknown } | undefined;
    try {
      await next();
    } catch (e) {
      failure = { error: e };
    }
    const status = failure === undefined ? undefined : toApiError(failure.error).error.toStatus();
    writeEvent(log, policy, {
      state: ctx.state,
      auditID,
      received,
      requestURI: ctx.originalUrl,
      sourceIP: ctx.req.socket.remoteAddress ?? '',
      userAgent: ctx.get('User-Agent'),
      code: status?.code ?? ctx.status,
      status,
      requestObject: () => {
        const raw = receivedBodies.get(ctx.req);
        if (raw === undefined || raw.length === 0) return undefined;
        try {
          return decodeBody(raw, ctx.get('Content-Type'));
        } catch {
          return undefined;
        }
      },
      responseObject: () => asJson(ctx.body),
      started: false,
    });
    if (failure !== undefined) throw failure.error;
  };
}

/**
 * The audit of an upgrade (exec, attach, port-forward over WebSocket or SPDY), which never passes the koa app:
 * called once the chain let it through (101, ResponseStarted) or refused it (the Status it was answered with).
 */
export type UpgradeAudit = (
  req: IncomingMessage,
  state: RequestState,
  status: Status | undefined,
  received: string,
) => void;

export function auditUpgrade(log: AuditLog, policy: AuditPolicy): UpgradeAudit {
  return (req, state, status, received) => {
    const header = req.headers['audit-id'];
    writeEvent(log, policy, {
      state,
      auditID: state.requestId ?? auditIdOf(Array.isArray(header) ? header[0] : header),
      received,
      requestURI: req.url ?? '',
      sourceIP: req.socket.remoteAddress ?? '',
      userAgent: String(req.headers['user-agent'] ?? ''),
      code: status?.code ?? 101,
      status,
      requestObject: () => undefined,
      responseObject: () => undefined,
      started: status === undefined,
    });
  };
}
