// What a handler answers (status, body, content type, warnings), and how it is written to the response.

import { Readable } from 'node:stream';
import type { ParameterizedContext } from 'koa';
import { withoutManagedFields } from '../http/drop-managed-fields.js';
import { dropsManagedFields } from '../http/negotiation.js';
import type { RequestState } from './state.js';

export interface Reply {
  readonly status: number;
  readonly body: unknown;
  /** @default 'application/json' */
  readonly type?: string;
  /** Sent as `Warning: 299 - "…"` headers, as Kubernetes sends admission and field-validation warnings. */
  readonly warnings?: readonly string[];
  /** `body` as JSON text, when the handler already has it (an object as the store just wrote it). */
  readonly json?: string | undefined;
  /** The body as a list's parts (a list answered with its items' stored text); `body` is then ignored. */
  readonly listText?: ListText | undefined;
}

/**
 * A list's JSON as a head (up to its array's `[`), `count` items' text and a tail. A large list is written from it
 * in small buffers: joined whole, 10,000 items make strings of tens of MB in V8's large-object space, and each
 * list answered adds another until a full GC, which grew the server's heap by hundreds of MB after a few reads.
 */
export interface ListText {
  readonly head: string;
  readonly count: number;
  item(index: number): string;
  readonly tail: string;
}

/** Lists with fewer items are written as one string (no stream to set up). */
const STREAMED_ITEMS = 256;
/** About this many characters go into each buffer written. */
const CHUNK_CHARS = 64 * 1024;

/** The stream each list answer is written from, to the list it writes (for the audit's response body). */
const listStreams = new WeakMap<object, ListText>();

/** The whole JSON text of a body writeReply set, when it is a list written as a stream; else undefined. */
export function streamedListJson(body: unknown): string | undefined {
  const list = typeof body === 'object' && body !== null ? listStreams.get(body) : undefined;
  return list === undefined ? undefined : streamedListJsonOf(list);
}

function streamedListJsonOf(list: ListText): string {
  const items: string[] = [];
  for (let i = 0; i < list.count; i++) items.push(list.item(i));
  return `${list.head}${items.join(',')}${list.tail}`;
}

/** A List's `items` or a Table's `rows`, when there are enough to stream; JSON.stringify's order is kept. */
function asListText(body: unknown): ListText | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  const key = record.kind === 'Table' ? 'rows' : 'items';
  const array = record[key];
  if (!Array.isArray(array) || array.length < STREAMED_ITEMS) return undefined;
  // A marker no JSON text of ours holds, where the array goes.
  const marker = '\u0000berth-list-items\u0000';
  const text = JSON.stringify({ ...record, [key]: marker });
  const at = text.indexOf(JSON.stringify(marker));
  // A value that happens to hold the marker too: written whole, as before.
  if (at < 0 || at !== text.lastIndexOf(JSON.stringify(marker))) return undefined;
  return {
    head: `${text.slice(0, at)}[`,
    count: array.length,
    item: (i) => JSON.stringify(array[i]) ?? 'null',
    tail: `]${text.slice(at + JSON.stringify(marker).length)}`,
  };
}

function* listChunks(list: ListText): Generator<Buffer> {
  let parts: string[] = [list.head];
  let size = list.head.length;
  for (let i = 0; i < list.count; i++) {
    const text = list.item(i);
    parts.push(i === 0 ? text : `,${text}`);
    size += text.length + 1;
    if (size >= CHUNK_CHARS) {
      yield Buffer.from(parts.join(''));
      parts = [];
      size = 0;
    }
  }
  parts.push(list.tail);
  yield Buffer.from(parts.join(''));
}

/** Writes `reply`; undefined means the handler streamed its answer itself (watch, relayed log). */
export function writeReply(ctx: ParameterizedContext<RequestState>, reply: Reply | undefined): void {
  if (reply === undefined) {
    ctx.respond = false;
    return;
  }
  ctx.status = reply.status;
  ctx.type = reply.type ?? 'application/json';
  for (const w of reply.warnings ?? []) ctx.res.appendHeader('Warning', `299 - ${headerSafeQuote(w)}`);
  // Dropped at encoding, as kube-apiserver's serializer does, so every verb's answer (get, list, create, update,
  // patch, a Pod view) honours the same Accept parameter.
  const body = dropsManagedFields(ctx.get('accept') || undefined) ? withoutManagedFields(reply.body) : reply.body;
  const list = reply.listText ?? asListText(body);
  if (list !== undefined && list.count >= STREAMED_ITEMS) {
    const stream = Readable.from(listChunks(list), { objectMode: false });
    listStreams.set(stream, list);
    ctx.body = stream;
    return;
  }
  if (list !== undefined && reply.listText !== undefined) {
    ctx.body = streamedListJsonOf(list);
    return;
  }
  ctx.body =
    typeof body === 'string'
      ? body
      : body === reply.body && reply.json !== undefined
        ? reply.json
        : JSON.stringify(body);
}

/** A quoted header value: JSON string escapes, and \uXXXX for anything outside printable ASCII (headers are Latin-1). */
function headerSafeQuote(text: string): string {
  return JSON.stringify(text).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
