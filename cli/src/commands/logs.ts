// `berth logs`: a Container's log through the API (`…/containers/NAME/log`), streamed to stdout, optionally followed.

import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connectToApi, containerPath } from '../api-connection.js';
import { statusError } from '../api/client.js';
import { StreamError, UnreachableError, UsageError } from '../errors.js';

/** Go-style durations as kubectl's --since takes them: 10s, 5m, 1h30m, 1.5h. */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let seconds = 0;
  let matched = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    seconds += Number(m[1]) * (units[m[2] ?? ''] ?? 0);
    matched = re.lastIndex;
  }
  if (text === '' || matched !== text.length)
    throw new UsageError(`--since: "${text}" is not a duration (like 10s, 5m, 1h)`);
  return seconds;
}

export interface LogsOptions {
  readonly namespace?: string;
  readonly follow?: boolean;
  /** Lines from the end; -1 or `all` means all (kubectl's and docker's default). */
  readonly tail?: string;
  /** A duration such as 10s or 1h. */
  readonly since?: string;
  readonly timestamps?: boolean;
  /** Stops a follow (or any read) early; the promise then resolves. */
  readonly signal?: AbortSignal;
}

function logQuery(options: LogsOptions): URLSearchParams {
  const query = new URLSearchParams();
  if (options.follow === true) query.set('follow', 'true');
  if (options.tail !== undefined && options.tail !== 'all') {
    if (!/^-?\d+$/.test(options.tail) || Number(options.tail) < -1)
      throw new UsageError(`--tail: "${options.tail}" must be a number of lines (or all)`);
    if (Number(options.tail) >= 0) query.set('tailLines', String(Number(options.tail)));
  }
  if (options.since !== undefined) {
    const seconds = parseDuration(options.since);
    if (seconds <= 0) throw new UsageError('--since must be longer than 0s');
    query.set('sinceSeconds', String(Math.ceil(seconds)));
  }
  if (options.timestamps === true) query.set('timestamps', 'true');
  return query;
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** Streams the log to `out`; rejects with a one-line reason on any failure. */
export async function logs(
  name: string,
  options: LogsOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const query = logQuery(options);
  const api = await connectToApi(options.namespace);
  const url = new URL(containerPath(api.namespace, name, 'log'), api.server);
  url.search = query.toString();
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  await new Promise<void>((resolve, reject) => {
    const req = send(
      url,
      { ...api.options, method: 'GET', headers: { ...api.options.headers, Accept: 'text/plain, */*' } },
      (res) => {
        if (res.statusCode !== 200) {
          void readBody(res).then((body) => reject(statusError(res.statusCode ?? 0, body)));
          return;
        }
        res.on('data', (chunk: Buffer) => {
          if (!out.write(chunk)) {
            res.pause();
            out.once('drain', () => res.resume());
          }
        });
        res.on('end', () => resolve());
        res.on('error', (e) => reject(new StreamError(`the log stream broke: ${e.message}`, e)));
        res.on('aborted', () => {
          if (options.signal?.aborted !== true) reject(new StreamError('the log stream was cut off by the server'));
        });
      },
    );
    req.on('error', (e) => {
      if (options.signal?.aborted === true) resolve();
      else reject(new UnreachableError(api.server.origin, e));
    });
    options.signal?.addEventListener(
      'abort',
      () => {
        req.destroy();
        resolve();
      },
      { once: true },
    );
    // `berth logs … | head` closes our stdout: that is the reader being done, not an error.
    out.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') {
        req.destroy();
        resolve();
      } else reject(e);
    });
    req.end();
  });
}
