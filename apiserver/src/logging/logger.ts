// The API server's logger: pino, JSON lines with levels. Callers pass their own (berth up makes one from
// --log-level); the default logs warnings and errors to stderr, as the server's console.error once did.

import { pino, type Level, type Logger } from 'pino';
import { InvalidArgumentError } from '@berth/api';

export type { Logger } from 'pino';

export type LogLevel = Level | 'silent';

export const logLevels: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const isLogLevel = (value: string): value is LogLevel => (logLevels as readonly string[]).includes(value);

/**
 * A logger writing JSON lines to stderr (stdout stays for what a command prints), synchronously so no line is
 * lost when the process exits. An unknown level is refused before anything is written.
 */
export function createLogger(options: { readonly level: string; readonly name?: string }): Logger {
  if (!isLogLevel(options.level))
    throw new InvalidArgumentError(`log level must be one of ${logLevels.join(', ')}, got "${options.level}"`);
  return pino({ name: options.name ?? 'berth', level: options.level }, pino.destination({ fd: 2, sync: true }));
}

/** The default of a server started without a logger: warnings and errors. */
export const defaultLogger = (): Logger => createLogger({ level: 'warn', name: 'berth-apiserver' });
