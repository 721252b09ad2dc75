// The subresources a node agent serves, a Container's (log, exec, attach, portforward, top) and an Image's (its build's
// log, export and import, `berth save|load`): once the request chain has authenticated and authorized the client,
// find the object's node and that node's agent endpoint, and relay the request, streaming both ways.

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
  ['berth.dev/containers', ['log', 'exec', 'attach', 'portforward', 'top']],
  ['berth.dev/images', ['log', 'export', 'import']],
]);

/** The HTTP method each plain (not upgraded) proxied subresource answers. */
export const proxiedMethods: ReadonlyMap<string, string> = new Map([
  ['log', 'GET'],
  // docker top: the container's processes as the node's ps lists them.
  ['top', 'GET'],
  ['export', 'GET'],
  ['import', 'POST'],
]);

export const isProxied = (group: string, plural: string, subresource: string | undefined): boolean =>
  subresource !== undefined && (proxiedSubresources.get(`${group}/${plural}`)?.includes(subresource) ?? false);

export interface AgentTarget {
  /** Unix socket of the agent (all-in-one berth). */
  readonly socketPath: string;
  /** Path on the agent: /containers|images/<namespace>/<name>/<subresource>?<query>. */
  readonly path: string;
}

/** Finds where the agent of the Container's (or Image's) node listens. */
export async function resolveAgent(
  objects: ObjectStore,
  registry: ResourceRegistry,
  group: string,
  version: string,
  namespace: string,
  name: string,
  subresource: string,
  query: string,
  plural: 'containers' | 'images' = 'containers',
): Promise<AgentTarget> {
  const resource = registry.get(group, version, plural);
  const nodes = registry.get('', 'v1', 'nodes');
  if (resource === undefined || nodes === undefined)
    throw new ApiError('NotFound', 'the server could not find the requested resource');
  let nodeName: string;
  if (plural === 'containers') {
    const container = await objects.get({ resource, namespace }, name);
    const spec = container['spec'];
    nodeName = isPlainObject(spec) && typeof spec['nodeName'] === 'string' ? spec['nodeName'] : '';
    if (nodeName === '') throw badRequest(`container ${name} does not have a node assigned`);
  } else {
    nodeName = await imageNode(objects, resource, nodes, namespace, name, subresource);
  }
  const node = await objects.get({ resource: nodes, namespace: undefined }, nodeName);
  const socketPath = agentSocketOf(nodeName, node);
  const path = `/${plural}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${subresource}${query === '' ? '' : `?${query}`}`;
  return { socketPath, path };
}

type Scope = Parameters<ObjectStore['get']>[0]['resource'];

/**
 * The node an Image's subresource goes to: for export, a node that holds it; for its build's log, the node that
 * builds it; for an import (`berth load`), the node that holds or built it, else the first Ready Node by name
 * (the tarball can land on any node: the Images `berth load` makes then name it there).
 */
async function imageNode(
  objects: ObjectStore,
  images: Scope,
  nodes: Scope,
  namespace: string,
  name: string,
  subresource: string,
): Promise<string> {
  const image =
    subresource === 'import'
      ? await objects.get({ resource: images, namespace }, name).catch(() => undefined)
      : await objects.get({ resource: images, namespace }, name);
  const spec = isPlainObject(image?.['spec']) ? image['spec'] : {};
  const status = isPlainObject(image?.['status']) ? image['status'] : {};
  const build = isPlainObject(spec['build']) ? spec['build'] : {};
  const builtOn = [status['nodeName'], build['nodeName']].find((n): n is string => typeof n === 'string' && n !== '');
  const holders = (Array.isArray(status['nodes']) ? status['nodes'] : [])
    .filter((n): n is Record<string, unknown> => isPlainObject(n) && n['present'] === true)
    .map((n) => n['nodeName'])
    .filter((n): n is string => typeof n === 'string' && n !== '');
  if (subresource === 'log') {
    if (builtOn === undefined) throw badRequest(`image ${name} is not built on any node`);
    return builtOn;
  }
  if (subresource === 'export') {
    const holder = builtOn !== undefined && holders.includes(builtOn) ? builtOn : holders[0];
    if (holder === undefined) throw badRequest(`image ${name} is not on any node yet`);
    return holder;
  }
  const known = holders[0] ?? builtOn;
  if (known !== undefined) return known;
  const list = await objects.list({ resource: nodes, namespace: undefined }, {});
  const ready = list.items
    .filter((n) => {
      const conditions = isPlainObject(n['status']) ? n['status']['conditions'] : undefined;
      return (
        Array.isArray(conditions) &&
        conditions.some((c) => isPlainObject(c) && c['type'] === 'Ready' && c['status'] === 'True')
      );
    })
    .map((n) => (isPlainObject(n['metadata']) ? n['metadata']['name'] : undefined))
    .filter((n): n is string => typeof n === 'string')
    .sort();
  if (ready[0] === undefined) throw new ApiError('ServiceUnavailable', 'no Ready node to load the images on');
  return ready[0];
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

/** Relays a plain HTTP request (log, top, export, import) to the agent and streams its answer back, and its body there. */
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
        headers: {
          accept: req.headers.accept ?? '*/*',
          ...(req.method === 'POST'
            ? { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' }
            : {}),
        },
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
    // An import's tarball streams through, never held here; anything else carries no body.
    if (req.method === 'POST') req.pipe(upstream);
    else upstream.end();
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
    if (
      r === undefined ||
      !isProxied(r.group, r.resource, r.subresource) ||
      r.subresource === 'log' ||
      r.subresource === 'top'
    )
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
