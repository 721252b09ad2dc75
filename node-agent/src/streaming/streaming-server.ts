// The node agent's streaming endpoint on a unix socket: container logs over HTTP, exec and attach over WebSocket,
// at the paths the API server relays to (`/containers/{namespace}/{name}/{log|exec|attach|top}?…`).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmod, lstat, mkdir, rename, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Duplex } from 'node:stream';
import { checkInteger, InvalidArgumentError } from '@berth/api';
import { createWebSocketStream, WebSocketServer, type WebSocket } from 'ws';
import { portForwardProtocol, servePortForward } from '../port-forward/port-forward.js';
import { SpdySession } from '../port-forward/spdy-session.js';
import { rotatedLogPath } from '../logs/rotation.js';
import { isRuntimeError } from '../runtime/errors.js';
import type { ContainerState, Runtime } from '../runtime/runtime.js';
import { type ImageEndpoints, parseImageTarget, serveImageRequest } from './image-endpoint.js';
import { previousLog, serveLog } from './log-endpoint.js';
import { chooseProtocol, REMOTE_COMMAND_PROTOCOLS, serveRemoteCommand, type TerminalSize } from './remote-command.js';
import { parseLogRequest, parseRemoteCommandRequest, type RemoteCommandRequest } from './request-options.js';
import { containerTop, parsePsArgs } from './top-endpoint.js';
import {
  containerNotFound,
  failureStatus,
  nonZeroExitStatus,
  StreamingError,
  successStatus,
  type Status,
} from './status.js';

/** The agent's answer to "which container on this node is namespace/name": its runtime id, or undefined. */
export type ContainerLookup = (namespace: string, name: string) => string | undefined | Promise<string | undefined>;

export interface StreamingServerOptions {
  /** Where to listen; a stale socket file there is replaced, anything else there is an error. */
  readonly socketPath: string;
  readonly lookup: ContainerLookup;
  readonly runtime: Pick<Runtime, 'state' | 'pids' | 'exec' | 'attach'>;
  /** A container's log files, oldest first. @default the runtime's `logPath` and its rotated predecessor */
  readonly logFilesOf?: (id: string, state: ContainerState) => readonly string[];
  /** How often a follow looks for new lines. @default 100 */
  readonly pollMs?: number;
  /** The address port-forward dials for a container (its first address on a berth network). @default none */
  readonly addressOf?: (id: string) => Promise<string | undefined>;
  /** Told about failures no client can be told about (a broken socket mid-answer). @default ignore */
  readonly onError?: (err: unknown) => void;
  /** Answers GET /stats/summary (kubelet's shape), read by the API server's resource metrics. @default not served */
  readonly statsSummary?: () => Promise<unknown>;
  /** Serves an Image's build log, export and import (`/images/…`). @default not served */
  readonly images?: ImageEndpoints;
  /** Answers GET /stats/disk (what the node's disk holds, measured when asked), read for `berth system df`. @default not served */
  readonly diskUsage?: () => Promise<unknown>;
}

type Subresource = 'log' | 'exec' | 'attach' | 'portforward' | 'top';

/** The WebSocket subprotocol that tunnels a SPDY port-forward session (kubectl 1.31+ tries it first). */
const tunnelProtocol = `SPDY/3.1+${portForwardProtocol}`;

interface Target {
  readonly namespace: string;
  readonly name: string;
  readonly subresource: Subresource;
  readonly query: URLSearchParams;
}

function parseTarget(url: string | undefined): Target | undefined {
  const u = new URL(url ?? '/', 'http://agent');
  const m = /^\/containers\/([^/]+)\/([^/]+)\/(log|exec|attach|portforward|top)$/.exec(u.pathname);
  if (m === null) return undefined;
  try {
    return {
      namespace: decodeURIComponent(m[1] ?? ''),
      name: decodeURIComponent(m[2] ?? ''),
      subresource: m[3] as Subresource,
      query: u.searchParams,
    };
  } catch {
    return undefined;
  }
}

function writeStatus(res: ServerResponse, status: Status): void {
  const body = JSON.stringify(status);
  res.writeHead(status.code ?? 500, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Refuses an upgrade with a plain HTTP Status answer (the WebSocket never opens). */
function refuseUpgrade(socket: Duplex, status: Status): void {
  const body = JSON.stringify(status);
  const code = status.code ?? 500;
  socket.end(
    `HTTP/1.1 ${code} ${status.reason ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Runtime failures in the API's words. */
function toStreamingError(err: unknown): unknown {
  if (!isRuntimeError(err)) return err;
  switch (err.code) {
    case 'ContainerNotFound':
      return new StreamingError('NotFound', err.message, { cause: err });
    case 'ContainerNotRunning':
    case 'InvalidConfig':
      return new StreamingError('BadRequest', err.message, { cause: err });
    case 'HostNotReady':
      return new StreamingError('ServiceUnavailable', err.message, { cause: err });
    // The exec could not start as that user: the cause names the field, so a client can exit as docker does (126).
    case 'UserNotFound':
      return new StreamingError('BadRequest', err.message, {
        cause: err,
        details: { causes: [{ reason: 'FieldValueNotFound', field: 'user', message: err.message }] },
      });
    default:
      return new StreamingError('InternalError', `error executing command in container: ${err.message}`, {
        cause: err,
      });
  }
}

export class StreamingServer {
  readonly socketPath: string;
  readonly #options: StreamingServerOptions;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #tunnels: WebSocketServer;
  readonly #closing = new AbortController();
  readonly #sockets = new Set<Socket | Duplex>();
  #started = false;

  constructor(options: StreamingServerOptions) {
    if (!path.isAbsolute(options.socketPath))
      throw new InvalidArgumentError(`StreamingServer option socketPath must be absolute, got "${options.socketPath}"`);
    if (typeof options.lookup !== 'function')
      throw new InvalidArgumentError('StreamingServer option lookup must be a function');
    checkInteger('StreamingServer', 'pollMs', options.pollMs);
    this.socketPath = options.socketPath;
    this.#options = options;
    this.#http = createServer((req, res) => void this.#request(req, res));
    this.#http.on(
      'upgrade',
      (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.#upgrade(req, socket, head),
    );
    this.#http.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      handleProtocols: (offered) => chooseProtocol(offered) ?? false,
    });
    this.#tunnels = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      handleProtocols: (offered) => (offered.has(tunnelProtocol) ? tunnelProtocol : false),
    });
  }

  /** Listens; the socket answers only its owner (mode 0600) from the moment it has its name. */
  async start(): Promise<void> {
    if (this.#started) throw new Error('StreamingServer already started');
    this.#started = true;
    await mkdir(path.dirname(this.socketPath), { recursive: true });
    const existing = await lstat(this.socketPath).catch(() => undefined);
    if (existing !== undefined) {
      if (!existing.isSocket()) throw new Error(`${this.socketPath} exists and is not a socket; not replacing it`);
      await rm(this.socketPath);
    }
    // Bound under a temporary name, restricted, then renamed: the public name never has wider permissions.
    const temporary = `${this.socketPath}.${process.pid}.tmp`;
    await rm(temporary, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(temporary, () => {
        this.#http.off('error', reject);
        resolve();
      });
    });
    await chmod(temporary, 0o600);
    await rename(temporary, this.socketPath);
  }

  /** Stops listening, ends every log follow and session, and removes the socket file. */
  async close(): Promise<void> {
    this.#closing.abort();
    for (const ws of [...this.#wss.clients, ...this.#tunnels.clients]) ws.terminate();
    const closed = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    if (this.#started) await closed;
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.#tunnels.close(() => resolve()));
    if (this.#started) await rm(this.socketPath, { force: true });
  }

  async #container(namespace: string, name: string): Promise<{ id: string; state: ContainerState }> {
    const id = await this.#options.lookup(namespace, name);
    if (id === undefined) throw containerNotFound(namespace, name);
    try {
      return { id, state: await this.#options.runtime.state(id) };
    } catch (err) {
      if (isRuntimeError(err, 'ContainerNotFound')) throw containerNotFound(namespace, name);
      throw err;
    }
  }

  async #request(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const abort = new AbortController();
    const onClose = () => abort.abort();
    res.once('close', onClose);
    const closing = this.#closing.signal;
    closing.addEventListener('abort', onClose, { once: true });
    try {
      const stats =
        req.method !== 'GET'
          ? undefined
          : req.url === '/stats/summary'
            ? this.#options.statsSummary
            : req.url === '/stats/disk'
              ? this.#options.diskUsage
              : undefined;
      if (stats !== undefined) {
        const body = JSON.stringify(await stats());
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      const image = this.#options.images !== undefined ? parseImageTarget(req.url) : undefined;
      if (image !== undefined && this.#options.images !== undefined) {
        await serveImageRequest(this.#options.images, image, req, res, abort.signal);
        return;
      }
      const target = parseTarget(req.url);
      if (target === undefined) throw new StreamingError('NotFound', `no such endpoint: ${req.url ?? ''}`);
      if (target.subresource === 'top') {
        if (req.method !== 'GET')
          throw new StreamingError('MethodNotAllowed', `${req.method ?? ''} is not allowed on top`);
        const args = parsePsArgs(target.query);
        const { id, state } = await this.#container(target.namespace, target.name);
        if (state.status !== 'running')
          throw new StreamingError('BadRequest', `container "${target.name}" is not running (${state.status})`);
        const body = JSON.stringify(await containerTop(args, await this.#options.runtime.pids(id)));
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      if (target.subresource !== 'log')
        throw new StreamingError(
          'BadRequest',
          `${target.subresource} needs a WebSocket upgrade (${REMOTE_COMMAND_PROTOCOLS.join(', ')})`,
        );
      if (req.method !== 'GET')
        throw new StreamingError('MethodNotAllowed', `${req.method ?? ''} is not allowed on log`);
      const request = parseLogRequest(target.query);
      const { id, state } = await this.#container(target.namespace, target.name);
      const files = request.previous
        ? await previousLog(state, target.name)
        : (this.#options.logFilesOf?.(id, state) ?? [rotatedLogPath(state.logPath), state.logPath]);
      const ended = async (): Promise<boolean> => {
        // The previous run's log is complete: nothing more comes to follow.
        if (request.previous) return true;
        // Following stops once the container is gone, replaced, or no longer running (as kubelet does).
        if ((await this.#options.lookup(target.namespace, target.name)) !== id) return true;
        const now = await this.#options.runtime.state(id).catch(() => undefined);
        return now === undefined || (now.status !== 'running' && now.status !== 'created');
      };
      await serveLog({ files, ended }, request, res, abort.signal);
    } catch (err) {
      const e = toStreamingError(err);
      if (!res.headersSent) writeStatus(res, failureStatus(e));
      else {
        this.#options.onError?.(e);
        res.destroy();
      }
    } finally {
      closing.removeEventListener('abort', onClose);
      res.off('close', onClose);
    }
  }

  async #upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    let request: RemoteCommandRequest;
    let id: string;
    try {
      const target = parseTarget(req.url);
      if (target === undefined || target.subresource === 'log' || target.subresource === 'top')
        throw new StreamingError('NotFound', `no WebSocket endpoint at ${req.url ?? ''}`);
      if (target.subresource === 'portforward') {
        await this.#portForward(req, socket, head, target);
        return;
      }
      if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket')
        throw new StreamingError('BadRequest', 'only WebSocket upgrades are served');
      const offered = new Set(
        (req.headers['sec-websocket-protocol'] ?? '')
          .split(',')
          .map((p) => p.trim())
          .filter((p) => p !== ''),
      );
      if (chooseProtocol(offered) === undefined) {
        throw new StreamingError(
          'BadRequest',
          `requested protocol(s) are not supported: [${[...offered].join(' ')}]; supports [${REMOTE_COMMAND_PROTOCOLS.join(' ')}]`,
        );
      }
      request = parseRemoteCommandRequest(target.query, target.subresource);
      const found = await this.#container(target.namespace, target.name);
      if (found.state.status !== 'running') {
        throw new StreamingError(
          'BadRequest',
          `container "${target.name}" is not running (${found.state.status}); cannot ${target.subresource}`,
        );
      }
      id = found.id;
      const kind = target.subresource;
      this.#wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        serveRemoteCommand(
          ws,
          request,
          kind === 'exec' ? this.#execHandlers(id, request) : this.#attachHandlers(id, request),
        ).catch((err: unknown) => {
          this.#options.onError?.(err);
          ws.terminate();
        });
      });
    } catch (err) {
      refuseUpgrade(socket, failureStatus(toStreamingError(err)));
    }
  }

  /**
   * Port-forward: a SPDY session either on the upgraded socket itself (`Upgrade: SPDY/3.1`) or tunnelled in a
   * WebSocket's binary messages (`SPDY/3.1+portforward.k8s.io`); each forwarded connection dials the container.
   */
  async #portForward(req: IncomingMessage, socket: Duplex, head: Buffer, target: Target): Promise<void> {
    const { id, state } = await this.#container(target.namespace, target.name);
    if (state.status !== 'running')
      throw new StreamingError(
        'BadRequest',
        `container "${target.name}" is not running (${state.status}); cannot port-forward`,
      );
    const address = await this.#options.addressOf?.(id);
    if (address === undefined)
      throw new StreamingError(
        'BadRequest',
        `container "${target.name}" has no address on a berth network to forward to`,
      );
    const forward = { address, description: `container ${target.namespace}/${target.name}` };
    const upgrade = (req.headers.upgrade ?? '').toLowerCase();
    if (upgrade === 'websocket') {
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      if (!offered.includes(tunnelProtocol))
        throw new StreamingError('BadRequest', `port-forward over a WebSocket speaks ${tunnelProtocol} only`);
      this.#tunnels.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        const tunnel = createWebSocketStream(ws);
        tunnel.on('error', () => ws.terminate());
        servePortForward(new SpdySession(tunnel), forward);
      });
      return;
    }
    const versions = String(req.headers['x-stream-protocol-version'] ?? '')
      .split(',')
      .map((p) => p.trim());
    if (upgrade !== 'spdy/3.1' || !versions.includes(portForwardProtocol))
      throw new StreamingError('BadRequest', `port-forward needs an upgrade to SPDY/3.1 with ${portForwardProtocol}`);
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${portForwardProtocol}\r\n\r\n`,
    );
    if (head.length > 0) socket.unshift(head);
    servePortForward(new SpdySession(socket), forward);
  }

  #execHandlers(id: string, request: RemoteCommandRequest) {
    const runtime = this.#options.runtime;
    return {
      open: (size?: TerminalSize) =>
        runtime
          .exec(id, {
            args: request.command,
            tty: request.tty,
            stdin: request.stdin,
            ...(request.env === undefined ? {} : { env: request.env }),
            ...(request.workingDir === undefined ? {} : { cwd: request.workingDir }),
            ...(request.user === undefined ? {} : { user: request.user }),
            ...(size === undefined ? {} : { size }),
          })
          .catch((err: unknown) => Promise.reject(toStreamingError(err))),
      finish: async (exitCode: Promise<number>): Promise<Status> => {
        let code: number;
        try {
          code = await exitCode;
        } catch (err) {
          return failureStatus(toStreamingError(err));
        }
        return code === 0 ? successStatus : nonZeroExitStatus(code);
      },
    };
  }

  #attachHandlers(id: string, request: RemoteCommandRequest) {
    const runtime = this.#options.runtime;
    return {
      open: () =>
        runtime.attach(id, { stdin: request.stdin }).catch((err: unknown) => Promise.reject(toStreamingError(err))),
      // An attach ends with the container: report how it exited, as `docker attach` does.
      finish: async (ended: Promise<number>): Promise<Status> => {
        await ended.catch(() => undefined);
        const deadline = Date.now() + 2_000;
        for (;;) {
          const st = await runtime.state(id).catch(() => undefined);
          if (st === undefined) return successStatus;
          if (st.status === 'exited')
            return st.exitCode === undefined || st.exitCode === 0 ? successStatus : nonZeroExitStatus(st.exitCode);
          // Still running: the attach itself ended (conmon closed it); nothing to report.
          if (Date.now() > deadline) return successStatus;
          await sleep(20);
        }
      },
    };
  }
}
