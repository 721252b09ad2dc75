// What a handler answers (status, body, content type, warnings), and how it is written to the response.

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
