// How an object's text is kept in etcd when it carries its own revision: etcd assigns the revision only when a
// transaction commits, so the text is rendered with a random placeholder that reads substitute back.

import { randomBytes } from 'node:crypto';

/**
 * A rendered value as stored: `=<text>` when the text does not mention its revision, `R<placeholder>:<text>`
 * when every occurrence of the placeholder digits stands for the key's mod revision. A value another program
 * wrote (no marker) reads back as it is.
 */
export function encodeValue(render: (revision: number) => string): string {
  const placeholder = randomPlaceholder();
  const text = render(placeholder);
  if (typeof text !== 'string') throw new TypeError(`render returned ${typeof text}, not a string`);
  const digits = String(placeholder);
  return text.includes(digits) ? `R${digits}:${text}` : `=${text}`;
}

/** The text of a stored value, with `modRevision` in place of its placeholder. */
export function decodeValue(raw: string, modRevision: number): string {
  if (raw.startsWith('=')) return raw.slice(1);
  if (raw.startsWith('R')) {
    const colon = raw.indexOf(':');
    if (colon > 1) return raw.slice(colon + 1).replaceAll(raw.slice(1, colon), String(modRevision));
  }
  return raw;
}

/**
 * 16 random digits: far above any revision etcd will reach, still a safe integer, and unguessable, so a
 * client cannot plant them in an object to have them rewritten.
 */
function randomPlaceholder(): number {
  return 1_000_000_000_000_000 + Number(randomBytes(8).readBigUInt64BE() % 8_000_000_000_000_000n);
}
