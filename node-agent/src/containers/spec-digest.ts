// The digest of what a Container's container is made from: its spec without the fields that only start, stop or
// place it. Kept as a label on the writable layer, it tells a `berth start` after a stop (same digest: same
// container, its writes kept, as docker start does) from an edit of the spec (new digest: a fresh container).
import { createHash } from 'node:crypto';
import type { Container } from '@berth/api';

/** The snapshot label holding the digest. */
export const specDigestLabel = 'berth.dev/spec-digest';

const lifecycleFields: ReadonlySet<string> = new Set([
  'stopped',
  'terminationGracePeriodSeconds',
  'nodeName',
  'autoRemove',
  // The interfaces are made at each start: `berth network connect` restarts a container without losing its writes.
  'networks',
]);

/** JSON with object keys sorted, so the digest does not depend on the order the server returned them in. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

export function specDigest(c: Container): string {
  const spec = Object.fromEntries(Object.entries(c.spec).filter(([k]) => !lifecycleFields.has(k)));
  return `sha256:${createHash('sha256').update(canonical(spec)).digest('hex')}`;
}
