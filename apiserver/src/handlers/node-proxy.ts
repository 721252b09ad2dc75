// The Container subresources a node agent serves (log, exec, attach, portforward): once the request chain has authenticated
// and authorized the client, find the Container's node and that node's agent endpoint, and relay the request,
// streaming both ways.

import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { basename, isAbsolute, normalize } from 'node:path';
import type { Duplex } from 'node:stream';
import { ApiError, badRequest, pathNotFound, type Status } from '../errors/api-error.js';
import type { ObjectStore } from '../objects/object-store.js';
import { isPlainObject } from '../objects/object.js';
import type { ResourceRegistry } from '../registry/registry.js';
import type { UpgradeHandler } from '../request-chain/chain.js';
import { required } from '../request-chain/state.js';
import { asContainerRequest } from '../pod-view/pod-authorization.js';
import { webSocketBearerPrefix } from '../authentication/authenticator.js';

/** The file name every node agent's unix socket has. */
export const agentSocketName = 'agent.sock';

/** Subresources relayed to the node agent, per group/plural. */
export const proxiedSubresources: ReadonlyMap<string, readonly string[]> = new Map([
  ['berth.dev/containers', ['log', 'exec', 'attach', 'portforward']],
]);

export const isProxied = (group: string, plural: string, subresource: string | undefined): boolean =>
  subresource !== undefined && (proxiedSubresources.get(`${group}/${plural}`)?.includes(subresource) ?? false);

export interface AgentTarget {
  /** Unix socket of the agent (all-in-one berth). */
  readonly socketPath: string;
  /** Path on the agent: /containers/<namespace>/<name>/<subresource>?<query>. */
  readonly path: string;
}

/** Finds where the agent of the Container's node listens. */
export async function resolveAgent(
  objects: ObjectStore,
  registry: ResourceRegistry,
  group: string,
  version: string,
  namespace: string,
  name: string,
  subresource: string,
  query: string,
): Promise<AgentTarget> {
  const containers = registry.get(group, version, 'containers');
  const nodes = registry.get('', 'v1', 'nodes');
  if (containers === undefined || nodes === undefined)
    throw new ApiError('NotFound', 'the server could not find the requested resource');
  const container = await objects.get({ resource: containers, namespace }, name);
  const spec = container['spec'];
  const nodeName = isPlainObject(spec) && typeof spec['nodeName'] === 'string' ? spec['nodeName'] : '';
  if (nodeName === '') throw badRequest(`container ${name} does not have a node assigned`);
  const node = await objects.get({ resource: nodes, namespace: undefined }, nodeName);
  const socketPath = agentSocketOf(nodeName, node);
  const path = `/containers/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${subresource}${query === '' ? '' : `?${query}`}`;
  return { socketPath, path };
}

/** The unix socket a Node's agent registered (status.daemonEndpoints), refused unless it is an agent socket. */
export function agentSocketOf(nodeName: string, node: Record<string, unknown>): string {
  const status = node['status'];
  const endpoints = isPlainObject(status) ? status['daemonEndpoints'] : undefined;
  const agent = isPlainObject(endpoints) ? endpoints['agentEndpoint'] : undefined;
  const address = isPlainObject(agent) && typeof agent['address'] === 'string' ? agent['address'] : '';
  if (!address.startsWith('unix:')) {
    throw new ApiError(
      'ServiceUnavailable',
      `the node agent of node ${nodeName} has no reachable endpoint (${address || 'none registered'})`,
    );
  }
  const socketPath = address.slice('unix:'.length);
  // Whoever can write a Node's status names this socket: dial only node-agent sockets, never an arbitrary one
  // (a container runtime's or systemd's) with the client's request.
  if (!isAbsolute(socketPath) || normalize(socketPath) !== socketPath || basename(socketPath) !== agentSocketName) {
    throw new ApiError(
      'ServiceUnavailable',
      `the node agent of node ${nodeName} registered an endpoint that is not an agent socket (${address})`,
    );
  }
  return socketPath;
}

/** Relays a plain HTTP request (log) to the agent and streams its answer back. */
export function relayRequest(
  target: AgentTarget,
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const upstream = httpRequest(
      {
        socketPath: target.socketPath,
        path: target.path,
        method: req.method,
        headers: { accept: req.headers.accept ?? '*/*' },
        signal,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, {
          'Content-Type': answer.headers['content-type'] ?? 'text/plain',
          'Cache-Control': 'no-cache, private',
        });
        res.flushHeaders();
        answer.pipe(res);
        answer.on('end', resolve);
        answer.on('error', resolve);
      },
    );
    upstream.on('error', (e) => {
      if (signal.aborted) return resolve();
      reject(new ApiError('ServiceUnavailable', `error dialing the node agent: ${e.message}`));
    });
    upstream.end();
  });
}

/**
 * The upgrade handler (exec, attach): the request chain has read, authenticated and authorized the request;
 * this finds the agent and relays. Any other upgrade path is not found.
 */
export function agentUpgrade(objects: ObjectStore, registry: ResourceRegistry): UpgradeHandler {
  return async (req, socket, head, state) => {
    // A Pod's exec, attach and port-forward are its Container's.
    const info = asContainerRequest(required(state, 'requestInfo'));
    const r = info.resource;
    if (r === undefined || !isProxied(r.group, r.resource, r.subresource) || r.subresource === 'log')
      throw pathNotFound();
    const target = await resolveAgent(
      objects,
      registry,
      r.group,
      r.version,
      r.namespace ?? '',
      r.name ?? '',
      r.subresource!,
      info.query.toString(),
    );
    relayUpgrade(target, req, socket, head);
  };
}

/** Relays an upgrade (exec, attach over WebSocket): the request goes to the agent, then bytes flow both ways. */
export function relayUpgrade(target: AgentTarget, req: IncomingMessage, client: Duplex, head: Buffer): void {
  const upstream: Socket = connect({ path: target.socketPath });
  const forwarded = [
    'connection',
    'upgrade',
    'sec-websocket-key',
    'sec-websocket-version',
    'sec-websocket-protocol',
    'sec-websocket-extensions',
    // SPDY upgrades (port-forward's fallback) name their protocol here.
    'x-stream-protocol-version',
  ];
  upstream.on('connect', () => {
    const lines = [`${req.method ?? 'GET'} ${target.path} HTTP/1.1`, 'Host: berth-node-agent'];
    for (const h of forwarded) {
      const v = req.headers[h];
      // The bearer-token subprotocol was this server's to read: the agent gets no credential of the user's.
      const value = Array.isArray(v) ? v.join(', ') : v;
      const kept =
        h === 'sec-websocket-protocol' && value !== undefined
          ? value
              .split(',')
              .map((p) => p.trim())
              .filter((p) => !p.startsWith(webSocketBearerPrefix))
              .join(', ')
          : value;
      if (kept !== undefined && kept !== '') lines.push(`${h}: ${kept}`);
    }
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length > 0) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  const end = () => {
    upstream.destroy();
    client.destroy();
  };
  upstream.on('error', (e) => {
    if (!client.writableEnded)
      writeUpgradeError(
        client,
        new ApiError('ServiceUnavailable', `error dialing the node agent: ${e.message}`).toStatus(),
      );
    end();
  });
  upstream.on('close', end);
  client.on('error', end);
  client.on('close', end);
}

/** Answers a failed upgrade with a plain HTTP Status response and closes the socket. */
export function writeUpgradeError(client: Duplex, status: Status): void {
  const body = JSON.stringify(status);
  client.end(
    `HTTP/1.1 ${status.code} ${status.reason ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
