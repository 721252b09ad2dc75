// Query parameters of the log, exec and attach endpoints, parsed and checked before any stream is opened.
import { parseExecUser } from '../exec/exec-user.js';
import { StreamingError } from './status.js';

/** Kubernetes' query bool: absent is the default; "0", "f", "false" (any case) are false; anything else is true. */
function bool(query: URLSearchParams, name: string, fallback = false): boolean {
  const v = query.get(name);
  if (v === null) return fallback;
  return !(v === '0' || /^(f|false)$/i.test(v));
}

function integer(query: URLSearchParams, name: string, min: number): number | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  if (!/^-?\d+$/.test(v) || !Number.isSafeInteger(Number(v))) {
    throw new StreamingError('BadRequest', `${name}: invalid value "${v}": must be an integer`, {
      details: { causes: [{ reason: 'FieldValueInvalid', field: name, message: 'must be an integer' }] },
    });
  }
  const n = Number(v);
  if (n < min) {
    const rule = min === 0 ? 'must be greater than or equal to 0' : `must be greater than or equal to ${min}`;
    throw new StreamingError('BadRequest', `${name}: invalid value ${n}: ${rule}`, {
      details: { causes: [{ reason: 'FieldValueInvalid', field: name, message: rule }] },
    });
  }
  return n;
}

export interface LogRequest {
  readonly follow: boolean;
  readonly tailLines: number | undefined;
  /** From `sinceSeconds` or `sinceTime` (may be fractional). */
  readonly sinceSeconds: number | undefined;
  readonly timestamps: boolean;
  readonly limitBytes: number | undefined;
  readonly previous: boolean;
}

export function parseLogRequest(query: URLSearchParams): LogRequest {
  const sinceSeconds = integer(query, 'sinceSeconds', 1);
  const sinceTime = query.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTime !== null)
    throw new StreamingError('BadRequest', 'at most one of sinceTime or sinceSeconds may be specified');
  let since = sinceSeconds;
  if (sinceTime !== null) {
    const ms = Date.parse(sinceTime);
    if (Number.isNaN(ms) || !/^\d{4}-\d\d-\d\dT/.test(sinceTime))
      throw new StreamingError('BadRequest', `sinceTime: invalid value "${sinceTime}": must be an RFC3339 time`);
    since = Math.max(0, (Date.now() - ms) / 1000);
  }
  return {
    follow: bool(query, 'follow'),
    tailLines: integer(query, 'tailLines', 0),
    sinceSeconds: since,
    timestamps: bool(query, 'timestamps'),
    limitBytes: integer(query, 'limitBytes', 1),
    previous: bool(query, 'previous'),
  };
}

export interface RemoteCommandRequest {
  /** Empty for attach. */
  readonly command: readonly string[];
  readonly stdin: boolean;
  readonly stdout: boolean;
  /** False when `tty`: a terminal merges stderr into stdout. */
  readonly stderr: boolean;
  readonly tty: boolean;
  /** exec only, berth's own parameters (docker exec -e/-w): `env=K=V` repeated, `workingDir` absolute. */
  readonly env?: Readonly<Record<string, string>>;
  readonly workingDir?: string;
  /** exec only (docker exec -u): `USER[:GROUP]`, names or ids, resolved by the runtime in the container's files. */
  readonly user?: string;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function execEnvironment(query: URLSearchParams): Record<string, string> | undefined {
  const pairs = query.getAll('env');
  if (pairs.length === 0) return undefined;
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    const name = i < 0 ? pair : pair.slice(0, i);
    if (!ENV_NAME.test(name))
      throw new StreamingError('BadRequest', `env: invalid value "${pair}": must be NAME=VALUE with a C identifier`);
    env[name] = i < 0 ? '' : pair.slice(i + 1);
  }
  return env;
}

export function parseRemoteCommandRequest(query: URLSearchParams, kind: 'exec' | 'attach'): RemoteCommandRequest {
  const command = query.getAll('command');
  const stdin = bool(query, 'stdin');
  const stdout = bool(query, 'stdout');
  const tty = bool(query, 'tty');
  const stderr = bool(query, 'stderr') && !tty;
  if (!stdin && !stdout && !bool(query, 'stderr'))
    throw new StreamingError('BadRequest', 'you must specify at least 1 of stdin, stdout, stderr');
  if (kind === 'exec' && (command.length === 0 || command[0] === ''))
    throw new StreamingError('BadRequest', 'you must specify at least one command for the container');
  if (kind === 'attach') return { command: [], stdin, stdout, stderr, tty };
  const env = execEnvironment(query);
  const workingDir = query.get('workingDir') ?? undefined;
  if (workingDir !== undefined && !workingDir.startsWith('/'))
    throw new StreamingError('BadRequest', `workingDir: invalid value "${workingDir}": must be an absolute path`);
  const user = query.get('user') ?? undefined;
  if (user !== undefined && parseExecUser(user) === undefined)
    throw new StreamingError('BadRequest', `user: invalid value "${user}": must be USER[:GROUP], a name or an id each`);
  return {
    command,
    stdin,
    stdout,
    stderr,
    tty,
    ...(env !== undefined ? { env } : {}),
    ...(workingDir !== undefined ? { workingDir } : {}),
    ...(user !== undefined ? { user } : {}),
  };
}
