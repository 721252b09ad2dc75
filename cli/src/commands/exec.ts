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
  /** NAME=VALUE pairs added to the container's environment (a bare NAME takes this process's value, as docker). */
  readonly env?: readonly string[];
  readonly workdir?: string;
  /** `USER[:GROUP]`, names or ids, looked up in the container's /etc/passwd and /etc/group. */
  readonly user?: string;
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
  // docker exec -e NAME (no value) passes the caller's own, or nothing when it has none.
  const env = (options.env ?? []).flatMap((e) =>
    e.includes('=') ? [e] : process.env[e] === undefined ? [] : [`${e}=${process.env[e]}`],
  );
  if (options.workdir !== undefined && !options.workdir.startsWith('/'))
    throw new UsageError(`the working directory ${options.workdir} is invalid, it needs to be an absolute path`);
  const session = {
    subresource: 'exec' as const,
    name,
    command,
    stdin,
    tty,
    ...(env.length > 0 ? { env } : {}),
    ...(options.workdir !== undefined ? { workingDir: options.workdir } : {}),
    ...(options.user !== undefined ? { user: options.user } : {}),
  };
  const code = await remoteCommand(api, session, stdio);
  if (code === undefined) throw new StreamError('the connection closed before the command finished');
  return code;
}
