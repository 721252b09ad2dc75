// Kubernetes' CEL URL library: url(), isURL(), and the parts of a URL (scheme, host, hostname, port, path, query).

import { CelScalar, celError, celFunc, celMethod, listType, mapType, type CelFunc } from '@bufbuild/cel';
import { OPAQUE, opaque, payloadOf } from './opaque.js';

/** Go's url.ParseRequestURI: an absolute URL, or an absolute path. */
function parse(s: string): URL | undefined {
  if (s.startsWith('/')) return new URL(s, 'relative:///');
  try {
    const u = new URL(s);
    return /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s) ? u : undefined;
  } catch {
    return undefined;
  }
}

const url = (v: unknown): { raw: string; u: URL } => {
  const raw = String(payloadOf('url', v));
  const u = parse(raw);
  if (u === undefined) throw celError(`URL parse error during conversion from string: ${raw}`);
  return { raw, u };
};
const relative = (u: URL) => u.protocol === 'relative:';

export const urlLibrary: CelFunc[] = [
  celFunc('url', [CelScalar.STRING], OPAQUE, (s) => {
    if (parse(s) === undefined) throw celError(`URL parse error during conversion from string: ${s}`);
    return opaque('url', s);
  }),
  celFunc('isURL', [CelScalar.STRING], CelScalar.BOOL, (s) => parse(s) !== undefined),
  celMethod('getScheme', OPAQUE, [], CelScalar.STRING, function () {
    const { u } = url(this);
    return relative(u) ? '' : u.protocol.slice(0, -1);
  }),
  celMethod('getHost', OPAQUE, [], CelScalar.STRING, function () {
    const { u } = url(this);
    return relative(u) ? '' : u.host;
  }),
  celMethod('getHostname', OPAQUE, [], CelScalar.STRING, function () {
    const { u } = url(this);
    return relative(u) ? '' : u.hostname.replace(/^\[(.*)\]$/, '$1');
  }),
  celMethod('getPort', OPAQUE, [], CelScalar.STRING, function () {
    const { raw, u } = url(this);
    // WHATWG URL drops a scheme's default port; Go keeps what was written.
    const written = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*:(\d+)/.exec(raw)?.[1];
    return relative(u) ? '' : (written ?? u.port);
  }),
  celMethod('getEscapedPath', OPAQUE, [], CelScalar.STRING, function () {
    return url(this).u.pathname;
  }),
  celMethod('getQuery', OPAQUE, [], mapType(CelScalar.STRING, listType(CelScalar.STRING)), function () {
    const out = new Map<string, string[]>();
    for (const [k, v] of url(this).u.searchParams) out.set(k, [...(out.get(k) ?? []), v]);
    return out;
  }),
];
