// Authentication: every request carries a bearer token the server knows (the admin's, components'), a
// ServiceAccount token it signed, or a client certificate signed by its CA (CN = user, O = groups); the few
// public-info paths (version, health) are open to anonymous, as on a Kubernetes server. Anything else is a 401.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { ApiError } from '../errors/api-error.js';
import { authenticateBootstrapToken, type SecretLookup } from './bootstrap-tokens.js';
import type { ServiceAccountTokens } from './service-account-tokens.js';

export interface UserInfo {
  readonly name: string;
  readonly groups: readonly string[];
  /** A ServiceAccount's uid. */
  readonly uid?: string;
  /** What else the authenticator knows (a ServiceAccount token's id). */
  readonly extra?: Readonly<Record<string, readonly string[]>>;
}

const publicPaths = new Set(['/version', '/livez', '/readyz', '/healthz', '/cacerts']);

const digest = (s: string) => createHash('sha256').update(s).digest();

export class Authenticator {
  readonly #tokens: { digest: Buffer; user: UserInfo }[];

  constructor(
    tokens: ReadonlyMap<string, UserInfo>,
    private readonly serviceAccounts?: ServiceAccountTokens,
    /** kube-system's Secrets, where bootstrap tokens live. @default no bootstrap tokens */
    private readonly bootstrapSecrets?: SecretLookup,
  ) {
    this.#tokens = [...tokens].map(([token, user]) => ({ digest: digest(token), user }));
  }

  /** The user a bearer token stands for, or undefined when it stands for no one. */
  async authenticateToken(token: string): Promise<UserInfo | undefined> {
    return (await this.reviewToken(token))?.user;
  }

  /**
   * A token's user and the audiences it is good for among `audiences` (this server's when none are named), as
   * Kubernetes' authenticators answer a TokenReview: a ServiceAccount token for the audiences it names, a static
   * token (audience-agnostic) for this server's own; undefined when it is good for none of them.
   */
  async reviewToken(
    token: string,
    audiences?: readonly string[],
  ): Promise<{ user: UserInfo; audiences: readonly string[] } | undefined> {
    const own = this.serviceAccounts?.apiAudiences ?? [];
    const wanted = audiences === undefined || audiences.length === 0 ? own : audiences;
    const offered = digest(token);
    const match = this.#tokens.find((t) => timingSafeEqual(t.digest, offered));
    // Kubernetes' WrapAudienceAgnosticToken: static and bootstrap tokens are good for the asked audiences this
    // server itself answers to.
    const agnostic = (user: UserInfo) => {
      const granted = wanted.filter((a) => own.includes(a));
      return own.length > 0 && granted.length === 0 ? undefined : { user, audiences: granted };
    };
    if (match !== undefined) return agnostic(match.user);
    if (this.bootstrapSecrets !== undefined) {
      const bootstrap = await authenticateBootstrapToken(token, this.bootstrapSecrets);
      if (bootstrap !== undefined) return agnostic(bootstrap);
    }
    const sa = await this.serviceAccounts?.authenticate(token, wanted);
    return sa === undefined
      ? undefined
      : {
          user: {
            name: sa.name,
            groups: sa.groups,
            ...(sa.uid === undefined ? {} : { uid: sa.uid }),
            ...(sa.extra === undefined ? {} : { extra: sa.extra }),
          },
          audiences: sa.audiences,
        };
  }

  /** The request's user, or a 401 `Status` error. Public paths return an anonymous user. */
  async authenticate(req: IncomingMessage, path: string): Promise<UserInfo> {
    const header = req.headers.authorization;
    const token = header !== undefined && /^bearer /i.test(header) ? header.slice(7).trim() : webSocketBearerToken(req);
    if (token !== undefined) {
      const user = await this.authenticateToken(token);
      if (user !== undefined) return user;
      throw unauthorized();
    }
    const socket = req.socket as TLSSocket;
    if (socket.authorized === true) {
      const user = certificateUser(socket);
      if (user !== undefined) return user;
    }
    if (publicPaths.has(path)) return { name: 'system:anonymous', groups: ['system:unauthenticated'] };
    throw unauthorized();
  }
}

/**
 * Who a connection's verified client certificate names (CN, and O as groups), read once per connection: the server
 * refuses renegotiation, so the certificate cannot change, and getPeerCertificate() builds the whole certificate as
 * an object each time (2 % of berth up's main thread while a 20-replica Service started, the agent's and the
 * controllers' requests all carrying client certificates).
 */
const certificateUsers = new WeakMap<TLSSocket, UserInfo | null>();

function certificateUser(socket: TLSSocket): UserInfo | undefined {
  const known = certificateUsers.get(socket);
  // A copy per request: what a request does with its user stays its own.
  if (known !== undefined) return known === null ? undefined : { name: known.name, groups: [...known.groups] };
  const cert = socket.getPeerCertificate();
  const cn = cert.subject?.CN;
  let user: UserInfo | null = null;
  if (typeof cn === 'string' && cn !== '') {
    const o = cert.subject.O;
    user = { name: cn, groups: [...(Array.isArray(o) ? o : o === undefined ? [] : [o]), 'system:authenticated'] };
  }
  certificateUsers.set(socket, user);
  return user === null ? undefined : { name: user.name, groups: [...user.groups] };
}

/** The subprotocol prefix a browser's WebSocket carries its token in (it cannot set Authorization), as kube-apiserver reads it. */
export const webSocketBearerPrefix = 'base64url.bearer.authorization.k8s.io.';

/** The token of a WebSocket upgrade's `base64url.bearer.authorization.k8s.io.<token>` subprotocol, if it has one. */
function webSocketBearerToken(req: IncomingMessage): string | undefined {
  if (req.headers.upgrade?.toLowerCase() !== 'websocket') return undefined;
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const entry = offered.find((p) => p.startsWith(webSocketBearerPrefix));
  if (entry === undefined) return undefined;
  const token = Buffer.from(entry.slice(webSocketBearerPrefix.length), 'base64url').toString('utf8');
  return token === '' ? undefined : token;
}

const unauthorized = () => new ApiError('Unauthorized', 'Unauthorized');
