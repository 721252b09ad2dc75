// One Kubernetes remote-command session (exec or attach) over the API's WebSocket (v5.channel.k8s.io, v4
// fallback): the terminal wired to it (raw mode and resizes for a TTY) and the final Status read as an exit code.

import type { IncomingMessage } from 'node:http';
import { WebSocket, type RawData } from 'ws';
import { containerPath, type ApiConnection } from '../api-connection.js';
import { statusError } from '../api/client.js';
import { CliError, StreamError, UnreachableError } from '../errors.js';
import type { SessionStdio } from './usable-tty.js';

export type { SessionStdio } from './usable-tty.js';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;

interface RemoteStatus {
  status?: string;
  message?: string;
  reason?: string;
  details?: { causes?: Array<{ reason?: string; message?: string; field?: string }> };
}

export interface SessionOptions {
  readonly subresource: 'exec' | 'attach';
  readonly name: string;
  /** exec's command; none for attach. */
  readonly command?: readonly string[];
  readonly stdin: boolean;
  readonly tty: boolean;
  /** exec only: added to the container's environment (docker exec -e). */
  readonly env?: readonly string[];
  /** exec only: the command's working directory (docker exec -w). */
  readonly workingDir?: string;
  /** exec only: `USER[:GROUP]`, names or ids (docker exec -u). */
  readonly user?: string;
}

/**
 * The exit code a final Status stands for; undefined when the session closed without one (an attach whose
 * container outlives it); throws for failures that are not the command's own.
 */
function exitCodeOf(body: string): number | undefined {
  if (body === '') return undefined;
  let status: RemoteStatus;
  try {
    status = JSON.parse(body) as RemoteStatus;
  } catch {
    throw new StreamError(`unreadable status from the node: ${body.slice(0, 200)}`);
  }
  if (status.status === 'Success') return 0;
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return code;
  }
  // The command could not start: the shell's 126 when it is there but not runnable, else 127, as `berth run` exits.
  const message = status.message ?? '';
  // No such user or group in the container: the exec never started, docker's 126.
  if (status.details?.causes?.some((c) => c.field === 'user') === true)
    throw new CliError('BERTH_CLI_CONTAINER_START', message, { exitCode: 126 });
  if (message.includes('command not found in the container'))
    throw new CliError('BERTH_CLI_CONTAINER_START', message, {
      exitCode: /permission denied/i.test(message) ? 126 : 127,
    });
  throw new StreamError(status.message ?? `the session failed (${status.reason ?? 'no reason given'})`);
}

function frame(channel: number, data: Buffer | string): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data) : data;
  return Buffer.concat([Buffer.of(channel), payload]);
}

/** Runs the session; resolves with the exit code its final Status gives (undefined: none given). */
export function remoteCommand(
  api: ApiConnection,
  options: SessionOptions,
  stdio: SessionStdio,
): Promise<number | undefined> {
  const stdinStream = stdio.stdin;
  const stdout = stdio.stdout;
  const { stdin: useStdin, tty } = options;
  const url = new URL(containerPath(api.namespace, options.name, options.subresource), api.server);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = new URLSearchParams();
  for (const arg of options.command ?? []) query.append('command', arg);
  query.set('stdout', 'true');
  query.set('stderr', tty ? 'false' : 'true');
  if (useStdin) query.set('stdin', 'true');
  if (tty) query.set('tty', 'true');
  for (const pair of options.env ?? []) query.append('env', pair);
  if (options.workingDir !== undefined) query.set('workingDir', options.workingDir);
  if (options.user !== undefined) query.set('user', options.user);
  url.search = query.toString();

  const ws = new WebSocket(url, ['v5.channel.k8s.io', 'v4.channel.k8s.io'], {
    ...api.options,
    headers: { ...(api.options.headers as Record<string, string> | undefined) },
    perMessageDeflate: false,
  });

  return new Promise<number | undefined>((resolve, reject) => {
    let errorBody = '';
    let rawMode = false;
    let settled = false;
    const cleanups: Array<() => void> = [];
    const done = (result: { code: number | undefined } | { error: Error }): void => {
      if (settled) return;
      settled = true;
      for (const c of cleanups.splice(0)) c();
      if (rawMode) stdinStream.setRawMode?.(false);
      stdinStream.pause();
      if ('code' in result) resolve(result.code);
      else reject(result.error);
    };

    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ error: statusError(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')) }));
    });
    ws.on('error', (e) => done({ error: new UnreachableError(api.server.origin, e) }));

    ws.on('open', () => {
      const v5 = ws.protocol === 'v5.channel.k8s.io';
      if (tty) {
        stdinStream.setRawMode?.(true);
        rawMode = true;
        const sendSize = () => {
          const { columns = 0, rows = 0 } = stdout;
          if (columns > 0 && rows > 0 && ws.readyState === WebSocket.OPEN)
            ws.send(frame(RESIZE, JSON.stringify({ Width: columns, Height: rows })));
        };
        sendSize();
        // A terminal's stdout re-reads its size and emits 'resize' on SIGWINCH.
        stdout.on('resize', sendSize);
        cleanups.push(() => stdout.off('resize', sendSize));
      }
      if (useStdin) {
        const onData = (chunk: Buffer) => {
          ws.send(frame(STDIN, chunk));
          // Hold the keyboard back while the network is slower than the typist (or a pipe).
          if (ws.bufferedAmount > 1 << 20) {
            stdinStream.pause();
            const resume = setInterval(() => {
              if (ws.bufferedAmount < 1 << 18 || ws.readyState !== WebSocket.OPEN) {
                clearInterval(resume);
                if (!settled) stdinStream.resume();
              }
            }, 10);
          }
        };
        const onEnd = () => {
          // v5 can say "stdin is done"; v4 has no way, the command just never sees EOF.
          if (v5 && ws.readyState === WebSocket.OPEN) ws.send(Buffer.of(CLOSE, STDIN));
        };
        stdinStream.on('data', onData);
        stdinStream.on('end', onEnd);
        stdinStream.resume();
        cleanups.push(() => {
          stdinStream.off('data', onData);
          stdinStream.off('end', onEnd);
        });
      }
    });

    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) return;
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (buf.length <= 1) return;
      const payload = buf.subarray(1);
      switch (buf[0]) {
        case STDOUT:
          if (!stdout.write(payload)) {
            ws.pause();
            stdout.once('drain', () => ws.resume());
          }
          break;
        case STDERR:
          stdio.stderr.write(payload);
          break;
        case ERROR:
          errorBody += payload.toString('utf8');
          break;
      }
    });

    ws.on('close', () => {
      try {
        done({ code: exitCodeOf(errorBody) });
      } catch (e) {
        done({ error: e as Error });
      }
    });
  });
}
