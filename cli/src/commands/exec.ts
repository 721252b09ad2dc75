// `berth exec`: runs a command in a Container through the API's exec subresource, wiring the terminal to it and
// resolving with the command's exit code.

import { connectToApi } from '../api-connection.js';
import { StreamError, UsageError } from '../errors.js';
import { remoteCommand } from '../streams/remote-command.js';
import { usableTty, type SessionStdio } from '../streams/usable-tty.js';

export interface ExecOptions {
  readonly namespace?: string;
  /** Pass stdin to the command. */
  readonly stdin?: boolean;
  /** Give the command a terminal (only when stdin is one). */
  readonly tty?: boolean;
}

/** Where the command's streams connect; the process's own by default. */
export type ExecStdio = SessionStdio;

/** Runs `command` in the container; resolves with its exit code, rejects with a one-line reason. */
export async function exec(
  name: string,
  command: readonly string[],
  options: ExecOptions,
  stdio: ExecStdio = process,
): Promise<number> {
  if (command.length === 0) throw new UsageError('exec needs a command: berth exec NAME -- COMMAND [ARGS...]');
  const stdin = options.stdin === true;
  const tty = usableTty(options.tty === true, stdin, stdio);
  const api = await connectToApi(options.namespace);
  const code = await remoteCommand(api, { subresource: 'exec', name, command, stdin, tty }, stdio);
  if (code === undefined) throw new StreamError('the connection closed before the command finished');
  return code;
}
