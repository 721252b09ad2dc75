// Hostile-input requests to a test server: the path goes out exactly as written (no URL normalization, which
// would resolve `..` and `%2e%2e` on the client side), bodies always carry a Content-Length, and every request has
// a deadline, so a hang is a failure rather than a stuck test.

import { type Agent, request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import type { TestServer } from '@berth/testkit';

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly ms: number;
}

export interface RawOptions {
  readonly body?: string | Buffer;
  readonly contentType?: string;
  readonly accept?: string;
  readonly timeoutMs?: number;
  readonly agent?: Agent;
}

/** One request; rejects with "timeout" if no full answer arrives in time. */
export function rawRequest(ts: TestServer, method: string, path: string, options: RawOptions = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(ts.url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Authorization: `Bearer ${ts.token}` };
    if (options.contentType !== undefined) headers['Content-Type'] = options.contentType;
    if (options.accept !== undefined) headers['Accept'] = options.accept;
    if (options.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(options.body));
    const req = httpsRequest(
      { hostname, port, path, method, headers, ca: ts.caCert, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
            ms: Date.now() - started,
          });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`timeout: ${method} ${path.slice(0, 200)}`));
    }, options.timeoutMs ?? 10_000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(options.body);
  });
}

/**
 * Writes `text` as the whole request on a fresh TLS connection and returns what comes back until the server closes
 * (or, with `until`, until the answer so far matches it).
 */
export function rawExchange(
  ts: TestServer,
  text: string | Buffer,
  timeoutMs = 10_000,
  until?: RegExp,
): Promise<string> {
  const { hostname, port } = new URL(ts.url);
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: hostname, port: Number(port), ca: ts.caCert, servername: 'localhost', rejectUnauthorized: false },
      () => socket.write(text),
    );
    let out = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`timeout, got so far: ${out.slice(0, 200)}`));
    }, timeoutMs);
    socket.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (until?.test(out) === true) socket.destroy();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on('error', () => undefined);
  });
}

/** The Status in a raw HTTP answer's body, or undefined when the body is not one. */
export function statusOf(
  text: string,
): { kind?: string; code?: number; reason?: string; message?: string } | undefined {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as { kind?: string; code?: number })
      : undefined;
  } catch {
    return undefined;
  }
}
