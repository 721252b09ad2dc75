// `ADD URL` downloads: only from the host's loopback (the agent runs on the host's network, so any other address
// would let a Dockerfile reach the node's network and cloud metadata), each redirect checked the same way, the
// body capped; `--checksum=sha256:…` must match.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { BuildError } from './errors.js';

/** The largest file an ADD downloads. */
export const maxAddUrlBytes = 512 * 1024 * 1024;
const maxRedirects = 10;

/** Whether a URL's host is loopback by name or address (not a name that merely resolves there). */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return /^127\./.test(host);
  return host === '::1';
}

async function readCapped(response: Response, url: string, line: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  const tooLarge = () => new BuildError('ADD_URL_FAILED', `ADD ${url}: larger than ${maxAddUrlBytes} bytes`, { line });
  if (declared > maxAddUrlBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += chunk.length;
    if (total > maxAddUrlBytes) throw tooLarge();
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** The file's bytes, name (the URL path's last part), time and digest. */
export async function download(
  url: string,
  checksum: string | undefined,
  line: number,
  signal: AbortSignal | undefined,
): Promise<{ data: Buffer; name: string; mtime: Date; digest: string }> {
  if (checksum !== undefined && !/^sha256:[a-f0-9]{64}$/.test(checksum))
    throw new BuildError('DOCKERFILE_SYNTAX', `--checksum=${checksum}: expected sha256:<64 hex digits>`, { line });
  let at = new URL(url);
  let response: Response | undefined;
  for (let hop = 0; response === undefined; hop++) {
    if (!isLoopbackUrl(at))
      throw new BuildError(
        'ADD_URL_FAILED',
        `ADD ${url}: ${at.host} is not loopback; berth builds download only from the node's loopback`,
        { line },
      );
    let r: Response;
    try {
      r = await fetch(at, { redirect: 'manual', ...(signal !== undefined ? { signal } : {}) });
    } catch (err) {
      throw new BuildError('ADD_URL_FAILED', `ADD ${url}: ${(err as Error).message}`, { cause: err, line });
    }
    const location = r.headers.get('location');
    if (r.status >= 300 && r.status < 400 && location !== null) {
      await r.body?.cancel();
      if (hop >= maxRedirects) throw new BuildError('ADD_URL_FAILED', `ADD ${url}: too many redirects`, { line });
      at = new URL(location, at);
      continue;
    }
    response = r;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new BuildError('ADD_URL_FAILED', `ADD ${url}: HTTP ${response.status} ${response.statusText}`, { line });
  }
  const data = await readCapped(response, url, line);
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  if (checksum !== undefined && checksum !== digest)
    throw new BuildError('ADD_URL_FAILED', `ADD ${url}: checksum mismatch: expected ${checksum}, got ${digest}`, {
      line,
    });
  const modified = Date.parse(response.headers.get('last-modified') ?? '');
  const name = decodeURIComponent(
    at.pathname
      .split('/')
      .filter((p) => p !== '')
      .pop() ?? '',
  );
  return { data, name, mtime: new Date(Number.isNaN(modified) ? 0 : modified), digest };
}
