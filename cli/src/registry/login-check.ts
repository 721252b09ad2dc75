// Checks registry credentials as `docker login` does before storing them: GET /v2/, and on a 401 the challenge's
// round trip (Basic: /v2/ again with the credentials; Bearer: the token realm with them). Loopback registries speak
// plain HTTP (docker's default insecure range); others HTTPS.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CliError } from '../errors.js';

const dockerHubIndex = 'https://index.docker.io/v1/';

/** `https://host:port/v1/`, `host:port` → the /v2/ base URL to check. */
export function registryBase(server: string): URL {
  if (server === dockerHubIndex) return new URL('https://registry-1.docker.io/v2/');
  const host = server.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  const loopback = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?$/i.test(host);
  const scheme = /^http:\/\//i.test(server) || loopback ? 'http' : 'https';
  return new URL(`${scheme}://${host}/v2/`);
}

function get(url: URL, authorization?: string): Promise<IncomingMessage> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      { method: 'GET', headers: authorization === undefined ? {} : { Authorization: authorization } },
      (res) => {
        res.resume();
        resolve(res);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error('timed out')));
    req.on('error', (e) => reject(new CliError('BERTH_CLI_API', `Get "${url.href}": ${e.message}`, { cause: e })));
    req.end();
  });
}

/** `Bearer realm="…",service="…"` → scheme and params. */
function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  const params: Record<string, string> = {};
  for (const p of (m?.[2] ?? '').matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g))
    params[(p[1] ?? '').toLowerCase()] = p[2] ?? p[3] ?? '';
  return { scheme: (m?.[1] ?? '').toLowerCase(), params };
}

/** Resolves when the registry accepts `username`/`password`; a one-line CliError when it does not. */
export async function checkLogin(server: string, username: string, password: string): Promise<void> {
  const base = registryBase(server);
  const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const refused = (url: URL, res: IncomingMessage) =>
    new CliError(
      'BERTH_CLI_API',
      `login attempt to ${url.href} failed with status: ${res.statusCode ?? 0} ${res.statusMessage ?? ''}`.trimEnd(),
    );
  const first = await get(base);
  if (first.statusCode === 200) return;
  if (first.statusCode !== 401) throw refused(base, first);
  const challenge = parseChallenge(String(first.headers['www-authenticate'] ?? ''));
  if (challenge.scheme === 'bearer' && challenge.params['realm'] !== undefined) {
    const realm = new URL(challenge.params['realm']);
    if (challenge.params['service'] !== undefined) realm.searchParams.set('service', challenge.params['service']);
    realm.searchParams.set('account', username);
    const token = await get(realm, basic);
    if (token.statusCode !== 200) throw refused(realm, token);
    return;
  }
  const again = await get(base, basic);
  if (again.statusCode !== 200) throw refused(base, again);
}
