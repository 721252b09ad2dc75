// The API server's logger: pino, JSON lines with levels. Callers pass their own (berth up makes one from
// --log-level); the default logs warnings and errors to stderr, as the server's console.error once did.

import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Warnings and errors as JSON lines on stderr, written synchronously so none is lost when the process exits. */
export function defaultLogger(): Logger {
  return pino({ name: 'berth-apiserver', level: 'warn' }, pino.destination({ fd: 2, sync: true }));
}
