// One API request whose answer (or body) is a byte stream rather than JSON: an Image's export or import, a build's
// log. Resolves with the 2xx answer as it starts; any other answer rejects with its Status's message.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { type ApiConnection, cliName } from '../api-connection.js';
import { UnreachableError } from '../errors.js';
import { statusError } from './client.js';

export interface StreamRequest {
  readonly method: 'GET' | 'POST';
  /** Path and query, e.g. `/apis/berth.dev/v1alpha1/namespaces/default/images/web/log?follow=true`. */
  readonly path: string;
  /** Streamed as the request body (POST). */
  readonly body?: Readable;
  readonly contentType?: string;
  readonly accept?: string;
  readonly signal?: AbortSignal;
}

export function openStream(connection: ApiConnection, r: StreamRequest): Promise<IncomingMessage> {
  const url = new URL(r.path, connection.server);
  if (r.method === 'POST' && !url.searchParams.has('fieldManager')) url.searchParams.set('fieldManager', cliName);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(
      url,
      {
        ...connection.options,
        method: r.method,
        headers: {
          ...connection.options.headers,
          Accept: r.accept ?? '*/*',
          ...(r.body !== undefined ? { 'Content-Type': r.contentType ?? 'application/octet-stream' } : {}),
        },
        ...(r.signal !== undefined ? { signal: r.signal } : {}),
      },
      (res) => {
        const code = res.statusCode ?? 0;
        if (code >= 200 && code < 300) {
          resolve(res);
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => reject(statusError(code, Buffer.concat(chunks).toString('utf8'))));
        res.on('error', () => reject(statusError(code, Buffer.concat(chunks).toString('utf8'))));
      },
    );
    req.on('error', (e) => reject(r.signal?.aborted === true ? e : new UnreachableError(connection.server.origin, e)));
    if (r.body !== undefined) {
      r.body.on('error', (e) => req.destroy(e));
      r.body.pipe(req);
    } else req.end();
  });
}

/** The whole answer as text. */
export async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}
