// The CLI's errors: each a BerthError with a stable code and the exit status docker gives the same failure.

import { BerthError } from '@berth/api/helpers';

export type CliErrorCode =
  | 'BERTH_CLI_USAGE'
  | 'BERTH_CLI_KUBECONFIG'
  | 'BERTH_CLI_UNREACHABLE'
  | 'BERTH_CLI_API'
  | 'BERTH_CLI_STREAM'
  | 'BERTH_CLI_CONTAINER_START'
  | 'BERTH_CLI_IO'
  | 'BERTH_CLI_UP'
  | 'BERTH_CLI_JOIN';

/**
 * A failure the CLI reports as one line. `exitCode` is what docker exits with for the same failure when it
 * differs from the command's default (1, or 125 for `run`/`start`, docker's "the daemon failed" status).
 */
export class CliError extends BerthError<CliErrorCode> {
  readonly exitCode: number | undefined;

  constructor(
    code: CliErrorCode,
    message: string,
    options: { readonly cause?: unknown; readonly exitCode?: number } = {},
  ) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options.exitCode;
  }
}

/** Bad flags or arguments: docker's 125 for every command. */
export class UsageError extends CliError {
  constructor(message: string) {
    super('BERTH_CLI_USAGE', message, { exitCode: 125 });
  }
}

/** The kubeconfig is missing or unusable. */
export class KubeconfigError extends CliError {
  constructor(message: string, cause?: unknown) {
    super('BERTH_CLI_KUBECONFIG', message, { cause });
  }
}

/** The API server did not answer at all. */
export class UnreachableError extends CliError {
  constructor(server: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('BERTH_CLI_UNREACHABLE', `cannot reach berth at ${server}: is \`berth up\` running? (${detail})`, { cause });
  }
}

/** The API server answered with a failure Status; `message` is the Status' message. */
export class ApiStatusError extends CliError {
  /** The HTTP status code. */
  readonly status: number;
  /** The Status' reason (NotFound, AlreadyExists, Invalid, …), when it had one. */
  readonly reason: string | undefined;

  constructor(status: number, reason: string | undefined, message: string) {
    super('BERTH_CLI_API', message);
    this.status = status;
    this.reason = reason;
  }
}

/** A log, exec or attach stream failed or ended without its final status. */
export class StreamError extends CliError {
  constructor(message: string, cause?: unknown) {
    super('BERTH_CLI_STREAM', message, { cause });
  }
}

/**
 * The container could not start its command: docker run's 127 (not found), 126 (found but not runnable), else 125.
 */
export class ContainerStartError extends CliError {
  constructor(message: string) {
    const exitCode = /not found|no such file/i.test(message)
      ? 127
      : /permission denied|not executable/i.test(message)
        ? 126
        : 125;
    super('BERTH_CLI_CONTAINER_START', message, { exitCode });
  }
}

/** A local file the command reads (an --env-file) could not be read. */
export class LocalFileError extends CliError {
  constructor(message: string, cause?: unknown) {
    super('BERTH_CLI_IO', message, { cause, exitCode: 125 });
  }
}

/** `berth up` could not bring berth up (its kubeconfig, the node agent, the thread it runs in). */
export class UpError extends CliError {
  constructor(message: string, cause?: unknown) {
    super('BERTH_CLI_UP', message, { cause });
  }
}

/** `berth agent --server --token` could not join: the CA did not match the token, or the server refused the token. */
export class JoinError extends CliError {
  /** No answer from the server at all (another of the cluster's servers may answer). */
  readonly unreachable: boolean;

  constructor(message: string, cause?: unknown, unreachable = false) {
    super('BERTH_CLI_JOIN', message, { cause });
    this.unreachable = unreachable;
  }
}
