// The push webhook receiver: a small HTTP listener in the controller process (as Flux runs its receiver in the
// notification-controller, not in the API server, which must not host controllers' logic). POST
// /hook/<namespace>/<gitrepository> with a body signed by the source's webhookSecretRef token (GitHub's
// X-Hub-Signature-256: sha256=<hmac>, or Gitea's X-Gitea-Signature: <hmac>, HMAC-SHA256 of the raw body) sets the
// source's reconcile.berth.dev/requestedAt annotation through the API, which makes it fetch at once.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  isConflict,
  isNotFound,
  type ApiClient,
  type Logger,
  type Runnable,
  type SharedInformer,
} from '@berth/controller-runtime';
import { messageOf } from '../errors.js';
import { gitRepositories, type GitRepositoryObject } from '../kinds.js';
import { requestedAtAnnotation } from '../reconcile-request.js';
import { readSecretData } from '../source/credentials.js';

export interface WebhookReceiverOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port (see `address`). */
  readonly port: number;
}

const maxBody = 1024 * 1024;

export class WebhookReceiver implements Runnable {
  readonly #client: ApiClient;
  readonly #sources: SharedInformer<GitRepositoryObject>;
  readonly #log: Logger;
  readonly #options: WebhookReceiverOptions;
  #server: http.Server | undefined;

  constructor(
    client: ApiClient,
    sources: SharedInformer<GitRepositoryObject>,
    log: Logger,
    options: WebhookReceiverOptions,
  ) {
    this.#client = client;
    this.#sources = sources;
    this.#log = log;
    this.#options = options;
  }

  /** `http://host:port` once started. */
  get url(): string | undefined {
    const a = this.#server?.address() as AddressInfo | null | undefined;
    return a ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : undefined;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      this.#handle(req)
        .then(([code, message]) => reply(res, code, message))
        .catch((err: unknown) => reply(res, 500, messageOf(err)));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#options.port, this.#options.host ?? '127.0.0.1', () => resolve());
    });
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: http.IncomingMessage): Promise<[number, string]> {
    const match = /^\/hook\/([a-z0-9.-]+)\/([a-z0-9.-]+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    if (match === null) return [404, 'not found'];
    if (req.method !== 'POST') return [405, 'POST only'];
    const [, namespace = '', name = ''] = match;
    const body = await readBody(req);
    if (body === undefined) return [413, 'body too large'];
    const source = this.#sources.get(namespace, name);
    const secretName = source?.spec?.webhookSecretRef?.name;
    // The same answer for an unknown source and a bad signature: the receiver does not tell which sources exist.
    if (source === undefined || secretName === undefined) return [401, 'signature does not match'];
    let token: string | undefined;
    try {
      token = (await readSecretData(this.#client, namespace, secretName, AbortSignal.timeout(10_000)))['token'];
    } catch {
      return [401, 'signature does not match'];
    }
    if (token === undefined || !signed(req, body, token)) return [401, 'signature does not match'];
    const at = new Date().toISOString();
    // A merge patch carries no resourceVersion, yet a status write racing it can still be a 409: try again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#client.patch(gitRepositories, namespace, name, {
          metadata: { annotations: { [requestedAtAnnotation]: at } },
        });
        break;
      } catch (err) {
        if (isNotFound(err)) return [401, 'signature does not match'];
        if (!isConflict(err) || attempt >= 5) throw err;
      }
    }
    this.#log.info('webhook: reconcile requested', { namespace, name, at });
    return [200, 'reconcile requested'];
  }
}

function signed(req: http.IncomingMessage, body: Buffer, token: string): boolean {
  const hub = req.headers['x-hub-signature-256'];
  const gitea = req.headers['x-gitea-signature'];
  const given =
    typeof hub === 'string' && hub.startsWith('sha256=') ? hub.slice(7) : typeof gitea === 'string' ? gitea : undefined;
  if (given === undefined || !/^[0-9a-f]{64}$/i.test(given)) return false;
  const want = createHmac('sha256', token).update(body).digest();
  return timingSafeEqual(want, Buffer.from(given, 'hex'));
}

async function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBody) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function reply(res: http.ServerResponse, code: number, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ message }));
}
