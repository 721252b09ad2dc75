// Authentication: every request carries a bearer token the server knows or a client certificate signed by its
// CA; the few public-info paths (version, health) are open, as on a Kubernetes server.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { ApiError } from '../errors/api-error.js';

export interface UserInfo {
  readonly name: string;
  readonly groups: readonly string[];
}

const publicPaths = new Set(['/version', '/livez', '/readyz', '/healthz']);

const digest = (s: string) => createHash('sha256').update(s).digest();

export class Authenticator {
  readonly #tokens: { digest: Buffer; user: UserInfo }[];

  constructor(tokens: ReadonlyMap<string, UserInfo>) {
    this.#tokens = [...tokens].map(([token, user]) => ({ digest: digest(token), user }));
  }

  /** The request's user, or a 401 `Status` error. Public paths return an anonymous user. */
  authenticate(req: IncomingMessage, path: string): UserInfo {
    const header = req.headers.authorization;
    if (header !== undefined && /^bearer /i.test(header)) {
      const offered = digest(header.slice(7).trim());
      const match = this.#tokens.find((t) => timingSafeEqual(t.digest, offered));
      if (match !== undefined) return match.user;
      throw unauthorized();
    }
    const socket = req.socket as TLSSocket;
    if (socket.authorized === true) {
      const cert = socket.getPeerCertificate();
      const cn = cert.subject?.CN;
      if (typeof cn === 'string' && cn !== '') {
        const o = cert.subject.O;
        return { name: cn, groups: [...(Array.isArray(o) ? o : o === undefined ? [] : [o]), 'system:authenticated'] };
      }
    }
    if (publicPaths.has(path)) return { name: 'system:anonymous', groups: ['system:unauthenticated'] };
    throw unauthorized();
  }
}

const unauthorized = () => new ApiError('Unauthorized', 'Unauthorized');
