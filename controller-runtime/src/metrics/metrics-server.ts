// A process's own /metrics endpoint, guarded as kube-controller-manager and kubelet guard theirs: the caller's
// bearer token is checked with the API server (TokenReview) and its right to `get` the non-resource URL `/metrics`
// asked of it (SubjectAccessReview), each answer cached for a few seconds (controller-runtime's
// WithAuthenticationAndAuthorization filter does the same).

import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Registry } from 'prom-client';
import type { ApiClient } from '../client/api-client.js';
import { InvalidOptionError } from '../errors.js';

export interface MetricsServerOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** A PEM certificate and key to serve HTTPS with, as Kubernetes' components do. @default plain HTTP */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** How long a token's review and its access decision are reused. @default 10_000 */
  readonly cacheTtlMs?: number;
}

interface Decision {
  readonly code: 200 | 401 | 403;
  readonly user: string;
  readonly until: number;
}

const record = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

export class MetricsServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #decisions = new Map<string, Decision>();
  #url = '';

  private constructor(
    readonly registry: Registry,
    private readonly client: ApiClient,
    private readonly options: MetricsServerOptions,
  ) {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#serve(req, res);
    this.#server =
      options.tls === undefined
        ? createHttpServer(handler)
        : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler);
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
  }

  /** Listens; options that cannot work are refused before. */
  static async start(registry: Registry, client: ApiClient, options: MetricsServerOptions): Promise<MetricsServer> {
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65_535)
      throw new InvalidOptionError(`metrics port must be an integer in 0..65535, got ${options.port}`);
    const server = new MetricsServer(registry, client, options);
    const host = options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', reject);
      server.#server.listen(options.port, host, () => {
        server.#server.off('error', reject);
        resolve();
      });
    });
    const address = server.#server.address() as AddressInfo;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    server.#url = `${options.tls === undefined ? 'http' : 'https'}://${shown}:${address.port}`;
    return server;
  }

  /** `http(s)://host:port` (the metrics are at `/metrics`). */
  get url(): string {
    return this.#url;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      for (const s of this.#sockets) s.destroy();
    });
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD'))
        return answer(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      const auth = req.headers.authorization ?? '';
      const token = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
      const decision = token === undefined ? undefined : await this.#decide(token);
      if (decision === undefined || decision.code === 401)
        return answer(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      if (decision.code === 403)
        return answer(
          res,
          403,
          status(403, 'Forbidden', `forbidden: User "${decision.user}" cannot get path "/metrics"`),
        );
      const body = await this.registry.metrics();
      res.writeHead(200, { 'Content-Type': this.registry.contentType, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (e) {
      answer(res, 503, status(503, 'ServiceUnavailable', `cannot check the caller: ${(e as Error).message}`));
    }
  }

  async #decide(token: string): Promise<Decision> {
    const now = Date.now();
    const cached = this.#decisions.get(token);
    if (cached !== undefined && cached.until > now) return cached;
    const until = now + (this.options.cacheTtlMs ?? 10_000);
    const review = record(
      await this.client.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
      }),
    );
    const reviewed = record(review['status']);
    const user = record(reviewed['user']);
    const name = typeof user['username'] === 'string' ? user['username'] : '';
    let decision: Decision;
    if (reviewed['authenticated'] !== true) decision = { code: 401, user: '', until };
    else {
      const access = record(
        await this.client.request('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {
              user: name,
              groups: Array.isArray(user['groups']) ? user['groups'] : [],
              ...(typeof user['uid'] === 'string' ? { uid: user['uid'] } : {}),
              ...(user['extra'] !== undefined ? { extra: user['extra'] } : {}),
              nonResourceAttributes: { path: '/metrics', verb: 'get' },
            },
          },
        }),
      );
      decision = { code: record(access['status'])['allowed'] === true ? 200 : 403, user: name, until };
    }
    // Bounded: a scraper with a fresh token per request must not grow this without end.
    if (this.#decisions.size >= 1024) this.#decisions.clear();
    this.#decisions.set(token, decision);
    return decision;
  }
}

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

function answer(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
