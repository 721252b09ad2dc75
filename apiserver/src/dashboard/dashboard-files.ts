// The web dashboard's files (built by @berth/dashboard into one folder) served at /dashboard/ ahead of
// authentication: the page itself holds no data, and every API call it makes carries the user's bearer token
// through the whole request chain like any other client's.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import type { Middleware } from 'koa';
import { ApiError } from '../errors/api-error.js';
import type { RequestState } from '../request-chain/state.js';

export const dashboardPath = '/dashboard/';

const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

// Everything the page loads comes from this server; no inline scripts, no frames around it.
const securityHeaders = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' wss: ws:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** The folder @berth/dashboard builds into, or undefined where that workspace is not installed. */
export function defaultDashboardDir(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@berth/dashboard/package.json')), 'dist');
  } catch {
    return undefined;
  }
}

interface File {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** Serves `dir` under /dashboard/ (index.html for the folder itself); other paths go on down the chain. */
export function dashboardFiles(dir: string | undefined): Middleware<RequestState> {
  // Read once per file: the build writes a handful of files, and a rebuild comes with a restart.
  const files = new Map<string, Promise<File | undefined>>();
  const load = (name: string): Promise<File | undefined> => {
    let file = files.get(name);
    if (file === undefined) {
      const path = join(dir ?? '', name);
      file = readFile(path).then(
        (body) => ({
          body,
          type: types[extname(name)] ?? 'application/octet-stream',
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
        }),
        () => undefined,
      );
      files.set(name, file);
    }
    return file;
  };
  return async (ctx, next) => {
    if (ctx.path !== '/dashboard' && !ctx.path.startsWith(dashboardPath)) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD')
      throw new ApiError('MethodNotAllowed', `the dashboard's files are only read (${ctx.method})`);
    if (ctx.path === '/dashboard') {
      ctx.status = 301;
      ctx.redirect(dashboardPath);
      return;
    }
    const rest = ctx.path.slice(dashboardPath.length) || 'index.html';
    const name = normalize(rest);
    if (dir === undefined || name.startsWith('..') || name.includes(`${sep}..`) || name.startsWith(sep))
      throw new ApiError('NotFound', `the dashboard has no file ${JSON.stringify(rest)}`);
    const file = await load(name);
    if (file === undefined)
      throw new ApiError(
        'NotFound',
        name === 'index.html'
          ? 'the dashboard is not built (npm run build builds it)'
          : `the dashboard has no file ${JSON.stringify(rest)}`,
      );
    ctx.set(securityHeaders);
    ctx.set('Cache-Control', 'no-cache');
    ctx.set('ETag', file.etag);
    if (ctx.get('If-None-Match') === file.etag) {
      ctx.status = 304;
      return;
    }
    ctx.type = file.type;
    ctx.body = file.body;
  };
}
