// Calls to the API server the page came from, with the session's bearer token; failures become ApiFailure with
// the Kubernetes Status message, and a 401 drops the token so the login form comes back.

import { currentToken, setToken } from './token.js';

export class ApiFailure extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

export interface RequestOptions {
  readonly method?: string;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly signal?: AbortSignal;
  readonly accept?: string;
  /** A token to try instead of the session's (the login form checks one before keeping it). */
  readonly token?: string;
}

/** A fetch of an API path with the token; the response as it came, or ApiFailure for a non-2xx answer. */
export async function apiFetch(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' };
  const token = options.token ?? currentToken();
  if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
  if (options.body !== undefined) headers['Content-Type'] = options.contentType ?? 'application/json';
  const response = await fetch(path, {
    method: options.method ?? 'GET',
    headers,
    ...(options.body === undefined
      ? {}
      : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (response.ok) return response;
  const text = await response.text();
  let message = `${response.status} ${response.statusText}`;
  let reason: string | undefined;
  try {
    const status = JSON.parse(text) as { message?: unknown; reason?: unknown };
    if (typeof status.message === 'string') message = status.message;
    if (typeof status.reason === 'string') reason = status.reason;
  } catch {
    if (text !== '') message = text;
  }
  if (response.status === 401 && options.token === undefined) setToken(undefined);
  throw new ApiFailure(response.status, message, reason);
}

export async function apiJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return (await (await apiFetch(path, options)).json()) as T;
}

/** Lines of a streamed answer (a watch, a followed log) as they arrive, until it ends or `signal` aborts. */
export async function* streamLines(response: Response): AsyncGenerator<string> {
  const body = response.body;
  if (body === null) return;
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += value;
      let end = pending.indexOf('\n');
      while (end >= 0) {
        yield pending.slice(0, end);
        pending = pending.slice(end + 1);
        end = pending.indexOf('\n');
      }
    }
    if (pending !== '') yield pending;
  } finally {
    reader.releaseLock();
  }
}
