// What the request chain keeps about a request as it goes (koa's ctx.state), and the shape of a chain step that
// both the koa app and the WebSocket upgrade path run.

import type { IncomingMessage } from 'node:http';
import type { UserInfo } from '../authentication/authenticator.js';
import { BerthError } from '@berth/api';
import type { RequestInfo } from './request-info.js';

/** Filled in chain order: requestInfo, then user; a step reads only what earlier steps set. */
export interface RequestState {
  requestInfo?: RequestInfo;
  user?: UserInfo;
  /** The authenticated user when the request impersonates `user` (audit's `user`; `user` is its impersonatedUser). */
  impersonatedBy?: UserInfo;
  /** Aborts when the client goes away before the answer is complete. */
  signal?: AbortSignal;
  /** The request's id (its Audit-Id header), in every log line about it. */
  requestId?: string;
}

/** One step before the handler, the same for plain requests and upgrades: it fills `state` or throws. */
export type RequestFilter = (req: IncomingMessage, state: RequestState) => void | Promise<void>;

/** A value an earlier step must have set; a missing one is a chain wired out of order (a bug, so a 500). */
export function required<K extends keyof RequestState>(state: RequestState, key: K): NonNullable<RequestState[K]> {
  const value = state[key];
  // Not an ApiError: the client gets a bare 500 and the log gets the bug.
  if (value === undefined)
    throw new BerthError('BERTH_REQUEST_CHAIN_MISORDERED', `request chain misordered: ${key} is not set`);
  return value as NonNullable<RequestState[K]>;
}
