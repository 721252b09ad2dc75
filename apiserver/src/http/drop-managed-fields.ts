// A response without metadata.managedFields, for a client that asked so in its Accept header (KEP-5958): an
// object, a list's items, a Table's row objects (replies and watch events alike); the stored object keeps them, only what is sent is smaller.

import { isPlainObject } from '../objects/object.js';

/** `body` as sent without managedFields: copies where something is dropped, the same value where nothing is. */
export function withoutManagedFields(body: unknown): unknown {
  if (!isPlainObject(body)) return body;
  let out: Record<string, unknown> = body;
  const metadata = body['metadata'];
  if (isPlainObject(metadata) && 'managedFields' in metadata) {
    const { managedFields: _, ...rest } = metadata;
    out = { ...out, metadata: rest };
  }
  for (const key of ['items', 'rows'] as const) {
    const list = body[key];
    if (Array.isArray(list)) out = { ...out, [key]: list.map(key === 'items' ? withoutManagedFields : rowWithout) };
  }
  return out;
}

const rowWithout = (row: unknown): unknown =>
  isPlainObject(row) && isPlainObject(row['object']) ? { ...row, object: withoutManagedFields(row['object']) } : row;
