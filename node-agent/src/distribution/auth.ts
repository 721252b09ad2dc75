// Registry credentials from a dockerconfigjson Secret, and parsing of WWW-Authenticate challenges.

/** The parsed `.dockerconfigjson` of a `kubernetes.io/dockerconfigjson` Secret. */
export interface DockerConfigJson {
  readonly auths?: Readonly<
    Record<string, { readonly auth?: string; readonly username?: string; readonly password?: string }>
  >;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

const dockerHubAliases = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** `https://host:port/v1/` → `host:port`, as docker writes keys of `auths`. */
function normalizeKey(key: string): string {
  const host = key
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
  return dockerHubAliases.has(host) ? 'docker.io' : host;
}

/** The credentials for `registry` (host[:port]) in a dockerconfigjson, or undefined. */
export function credentialsFor(config: DockerConfigJson | undefined, registry: string): Credentials | undefined {
  if (config?.auths === undefined) return undefined;
  const wanted = normalizeKey(registry);
  for (const [key, entry] of Object.entries(config.auths)) {
    if (normalizeKey(key) !== wanted) continue;
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (typeof entry.username === 'string' && typeof entry.password === 'string')
      return { username: entry.username, password: entry.password };
  }
  return undefined;
}

export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (or `Basic realm="…"`). */
export function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (match?.[1] === undefined) return undefined;
  const params: Record<string, string> = {};
  const paramPattern = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/gy;
  const rest = match[2] ?? '';
  let m: RegExpExecArray | null;
  while ((m = paramPattern.exec(rest)) !== null && m[0] !== '') {
    const key = m[1];
    if (key !== undefined) params[key.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { scheme: match[1].toLowerCase(), params };
}
