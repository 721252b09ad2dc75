// One raw HTTPS request to a test API server, for tests that assert exact status codes, headers and bodies.
import { request as httpsRequest } from 'node:https';
import type { TestServer } from './api-server.js';

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

/** One HTTPS request to the test server, authenticated as admin unless `token` is given ('' = none). */
export async function request(
  ts: TestServer,
  method: string,
  path: string,
  options: {
    body?: string | Buffer;
    contentType?: string;
    accept?: string;
    token?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token ?? ts.token;
    if (token !== '') headers['Authorization'] = `Bearer ${token}`;
    if (options.contentType !== undefined) headers['Content-Type'] = options.contentType;
    if (options.accept !== undefined) headers['Accept'] = options.accept;
    // Node sends a DELETE's body unframed (no chunking by default for DELETE): say how long it is.
    if (options.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(options.body));
    const req = httpsRequest(new URL(path, ts.url), { method, headers, ca: ts.caCert }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
