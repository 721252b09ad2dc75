// The agent's Image endpoints, at the paths the API server relays an Image's subresources to: GET
// `/images/{namespace}/{name}/log` (its build's log on this node, followed as a Container's), GET `…/export` (the
// image as an OCI layout tarball, `berth save`) and POST `…/import` (such a tarball read in, `berth load`).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable, Writable } from 'node:stream';
import { serveLog } from './log-endpoint.js';
import { parseLogRequest } from './request-options.js';
import { StreamingError } from './status.js';

export interface ImageEndpoints {
  /**
   * The log of the Image's build of `generation` (default: its current one) here: its file (which may not exist
   * yet: a follow waits for it) and whether the build has ended. undefined: no such Image (after a while: a client
   * may ask as soon as the Image is bound, before this node has seen it).
   */
  buildLog(
    namespace: string,
    name: string,
    generation: number | undefined,
    signal: AbortSignal,
  ): Promise<{ readonly file: string; readonly ended: () => Promise<boolean> } | undefined>;
  /**
   * Finds the Image's image here (a StreamingError NotFound when it is not) and returns what writes it as an OCI
   * layout tarball: found before the answer starts, so a missing image is a Status, not a cut tarball.
   */
  exportImage(namespace: string, name: string): Promise<(out: Writable, signal: AbortSignal) => Promise<void>>;
  /** Reads an OCI layout tarball into this node; answers the images it held (digest and names). */
  importArchive(source: Readable, signal: AbortSignal): Promise<unknown>;
}

export type ImageSubresource = 'log' | 'export' | 'import';

export interface ImageTarget {
  readonly namespace: string;
  readonly name: string;
  readonly subresource: ImageSubresource;
  readonly query: URLSearchParams;
}

export function parseImageTarget(url: string | undefined): ImageTarget | undefined {
  const u = new URL(url ?? '/', 'http://agent');
  const m = /^\/images\/([^/]+)\/([^/]+)\/(log|export|import)$/.exec(u.pathname);
  if (m === null) return undefined;
  try {
    return {
      namespace: decodeURIComponent(m[1] ?? ''),
      name: decodeURIComponent(m[2] ?? ''),
      subresource: m[3] as ImageSubresource,
      query: u.searchParams,
    };
  } catch {
    return undefined;
  }
}

export async function serveImageRequest(
  endpoints: ImageEndpoints,
  target: ImageTarget,
  req: IncomingMessage,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  const method = req.method ?? '';
  const wanted = target.subresource === 'import' ? 'POST' : 'GET';
  if (method !== wanted)
    throw new StreamingError('MethodNotAllowed', `${method} is not allowed on ${target.subresource}`);
  if (target.subresource === 'log') {
    const g = target.query.get('generation');
    if (g !== null && !/^\d+$/.test(g)) throw new StreamingError('BadRequest', 'generation must be a whole number');
    const log = await endpoints.buildLog(target.namespace, target.name, g === null ? undefined : Number(g), signal);
    if (log === undefined)
      throw new StreamingError('NotFound', `images.berth.dev "${target.name}" not found on this node`);
    await serveLog({ files: [log.file], ended: log.ended }, parseLogRequest(target.query), res, signal);
    return;
  }
  if (target.subresource === 'export') {
    const write = await endpoints.exportImage(target.namespace, target.name);
    res.writeHead(200, { 'Content-Type': 'application/x-tar', 'Cache-Control': 'no-cache, private' });
    await write(res, signal);
    return;
  }
  const loaded = await endpoints.importArchive(req, signal);
  const body = JSON.stringify(loaded);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
