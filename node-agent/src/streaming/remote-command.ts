// Kubernetes' remote command protocol over a WebSocket (v5/v4.channel.k8s.io): one exec or attach session, byte for byte.
//
// Every binary message starts with a channel byte: 0 stdin (client → agent), 1 stdout, 2 stderr,
// 3 error (one metav1.Status when the session ends), 4 resize (client → agent, {"Width","Height"}).
// v5 adds 255: [255, channel] half-closes that channel, which is how a client says "stdin is done".
import type { Readable } from 'node:stream';
import { WebSocket, type RawData } from 'ws';
import type { StdioSession } from '../runtime/runtime.js';
import type { RemoteCommandRequest } from './request-options.js';
import { failureStatus, type Status } from './status.js';

export const V5_PROTOCOL = 'v5.channel.k8s.io';
export const V4_PROTOCOL = 'v4.channel.k8s.io';
/** Preferred first. */
export const REMOTE_COMMAND_PROTOCOLS: readonly string[] = [V5_PROTOCOL, V4_PROTOCOL];

export const Channel = { Stdin: 0, Stdout: 1, Stderr: 2, Error: 3, Resize: 4, Close: 255 } as const;

/** The subprotocol to answer with, or undefined when the client offers none we speak. */
export function chooseProtocol(offered: ReadonlySet<string>): string | undefined {
  return REMOTE_COMMAND_PROTOCOLS.find((p) => offered.has(p));
}

export interface RemoteCommandHandlers {
  /** Starts the exec or attach; a tty starts at the client's terminal size when it sent one. */
  open(size?: TerminalSize): Promise<StdioSession>;
  /** The Status to send once the session has ended (its output drained); `exitCode` rejected means it failed. */
  finish(exitCode: Promise<number>): Promise<Status>;
}

/**
 * How long a tty session waits for the client's first terminal size before it starts anyway. Generous: on a
 * loaded machine the size, sent first thing, can take over a second through the API server's relay, and a tty
 * process started before it sees a 0x0 terminal. A client that sends stdin first is not waited for.
 */
const initialSizeWaitMs = 10_000;

/** Messages in flight per output channel before the session's output is paused (the client reads too slowly). */
const HIGH_WATER = 64;

function frame(channel: number, data: Buffer): Buffer {
  const out = Buffer.allocUnsafe(data.length + 1);
  out[0] = channel;
  data.copy(out, 1);
  return out;
}

/** Copies `source` onto `channel` with backpressure, or drains it unseen when the client did not ask for it. */
function forward(ws: WebSocket, source: Readable, channel: number | undefined): Promise<void> {
  return new Promise((resolve) => {
    let inFlight = 0;
    source.on('data', (chunk: Buffer) => {
      if (channel === undefined || ws.readyState !== WebSocket.OPEN) return;
      inFlight++;
      ws.send(frame(channel, chunk), () => {
        inFlight--;
        if (inFlight <= HIGH_WATER / 2 && source.isPaused()) source.resume();
      });
      if (inFlight >= HIGH_WATER) source.pause();
    });
    source.once('end', () => resolve());
    source.once('close', () => resolve());
    source.once('error', () => resolve());
  });
}

export interface TerminalSize {
  readonly cols: number;
  readonly rows: number;
}

function parseResize(data: Buffer): TerminalSize | undefined {
  try {
    const v = JSON.parse(data.toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null) return undefined;
    const { Width, Height } = v as { Width?: unknown; Height?: unknown };
    if (typeof Width !== 'number' || typeof Height !== 'number') return undefined;
    return { cols: Width, rows: Height };
  } catch {
    return undefined;
  }
}

/**
 * Runs one session on an accepted WebSocket: stdin and resizes in, stdout/stderr out, the final Status on
 * the error channel, then a normal close. A client that disconnects ends the session (an exec'd process
 * gets SIGTERM, or a hangup on its terminal).
 */
export async function serveRemoteCommand(
  ws: WebSocket,
  request: RemoteCommandRequest,
  handlers: RemoteCommandHandlers,
): Promise<void> {
  const v5 = ws.protocol === V5_PROTOCOL;
  let session: StdioSession | undefined;
  let stdinEnded = false;
  let lastSize: TerminalSize | undefined;
  // The first size, or the first other message (a client that sends no size first sends none).
  let sizeOrInput: () => void = () => undefined;
  const firstSizeOrInput = new Promise<void>((resolve) => (sizeOrInput = resolve));
  const early: Buffer[] = [];
  let clientGone = false;

  const handle = (data: Buffer): void => {
    if (data.length === 0) return;
    const channel = data[0];
    if (session === undefined) {
      // Until the session exists only the latest size matters; stdin waits, in order.
      const size = channel === Channel.Resize ? parseResize(data.subarray(1)) : undefined;
      if (size !== undefined) lastSize = size;
      else early.push(data);
      sizeOrInput();
      return;
    }
    if (channel === Channel.Stdin) {
      const stdin = session.stdin;
      if (!request.stdin || stdin === undefined || stdinEnded || data.length === 1) return;
      if (!stdin.write(data.subarray(1))) {
        ws.pause();
        stdin.once('drain', () => ws.resume());
      }
    } else if (channel === Channel.Resize) {
      const size = parseResize(data.subarray(1));
      // A size the terminal refuses is the client's mistake; the session goes on.
      if (size !== undefined) session.resize(size.cols, size.rows).catch(() => undefined);
    } else if (channel === Channel.Close && v5) {
      if (data[1] === Channel.Stdin && !stdinEnded) {
        stdinEnded = true;
        session.stdin?.end();
      }
    }
  };

  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (!isBinary) return;
    handle(Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data));
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  void closed.then(() => {
    clientGone = true;
    void session?.close();
  });
  // Nothing in the session can crash the agent by an unheard socket error; close follows an error.
  ws.on('error', () => undefined);

  // An empty message on the first channel the client reads tells it the session is ready (kubelet does the same).
  const readyChannel = request.stdout ? Channel.Stdout : request.stderr ? Channel.Stderr : Channel.Error;
  ws.send(Buffer.of(readyChannel));

  const sendStatusAndClose = (status: Status): void => {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(frame(Channel.Error, Buffer.from(JSON.stringify(status))));
    ws.close(1000);
  };

  // Clients send the terminal's size right after connecting. A tty process that starts before it arrives sees a
  // 0x0 terminal (busybox `stty size` fails), so wait a moment for it and start at that size (OCI consoleSize).
  if (request.tty && lastSize === undefined) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      firstSizeOrInput,
      closed,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, initialSizeWaitMs))),
    ]);
    clearTimeout(timer);
  }
  try {
    session = await handlers.open(lastSize);
  } catch (err) {
    sendStatusAndClose(failureStatus(err));
    await closed;
    return;
  }
  if (clientGone) {
    await session.close();
    return;
  }
  if (!request.stdin) session.stdin?.end();
  else session.stdin?.on('error', () => undefined); // EPIPE once the process exits is expected.
  // Clients send the terminal's size as soon as they connect, usually while the session is still starting.
  if (request.tty && lastSize !== undefined) session.resize(lastSize.cols, lastSize.rows).catch(() => undefined);
  for (const data of early.splice(0)) handle(data);

  const output = Promise.all([
    forward(ws, session.stdout, request.stdout ? Channel.Stdout : undefined),
    forward(ws, session.stderr, request.stderr ? Channel.Stderr : undefined),
  ]);
  const exitCode = session.exitCode;
  exitCode.catch(() => undefined);
  await Promise.race([Promise.allSettled([exitCode, output]), closed]);
  if (clientGone) return;
  const status = await handlers.finish(exitCode).catch((err: unknown) => failureStatus(err));
  sendStatusAndClose(status);
  await closed;
}
