// Parsing image references (`host[:port]/repo[:tag][@digest]`) the way docker does, for naming only.
import { isDigest } from '../content/digest.js';
import { InvalidReference } from './errors.js';

export interface Reference {
  /** host[:port] as written (docker.io when the reference names none). */
  readonly registry: string;
  /** Repository path inside the registry, e.g. `library/busybox`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

const componentPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
const hostPattern =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]{1,5})?$/;

/**
 * Parses a reference. Like docker, a first path component with no `.` or `:` that is not `localhost`
 * is a Docker Hub repository (`busybox` → `docker.io/library/busybox:latest`); a reference with neither
 * tag nor digest gets the tag `latest`. Throws InvalidReference.
 */
export function parseReference(input: string): Reference {
  const bad = (why: string) => new InvalidReference(`invalid image reference ${JSON.stringify(input)}: ${why}`);
  if (input === '' || input.length > 4096) throw bad('empty or too long');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw bad('digest must be sha256:<64 hex characters>');
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagPattern.test(tag)) throw bad(`invalid tag ${JSON.stringify(tag)}`);
  }
  const parts = rest.split('/');
  let registry = 'docker.io';
  const first = parts[0] ?? '';
  if (
    parts.length > 1 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))
  ) {
    registry = first;
    parts.shift();
    if (!hostPattern.test(registry)) throw bad(`invalid registry host ${JSON.stringify(registry)}`);
  }
  if (registry === 'docker.io' && parts.length === 1) parts.unshift('library');
  for (const part of parts) {
    if (!componentPattern.test(part))
      throw bad(`invalid repository path component ${JSON.stringify(part)} (lowercase letters, digits, separators)`);
  }
  if (tag === undefined && digest === undefined) tag = 'latest';
  return {
    registry,
    repository: parts.join('/'),
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
  };
}

export function formatReference(ref: Reference): string {
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The host name without port or brackets. */
export function hostName(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const colon = registry.lastIndexOf(':');
  return colon >= 0 ? registry.slice(0, colon) : registry;
}

/** Loopback registries (127.0.0.0/8, ::1, localhost) are spoken to over plain HTTP; all others over HTTPS. */
export function isLoopback(registry: string): boolean {
  const host = hostName(registry).toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
