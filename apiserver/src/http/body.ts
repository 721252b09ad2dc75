// Reads request bodies with a size limit and decodes JSON or YAML into plain data, with Kubernetes-style errors.

import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest } from '../errors/api-error.js';
import { receivedBodies } from './received-body.js';
import { decodeKubernetesProtobuf } from './protobuf.js';
import { depthExceeds, flowDepthExceeds, jsonDepthExceeds, maxNestingDepth } from './nesting-depth.js';

/** Kubernetes' limit on a request body (3 MiB). */
export const maxBodyBytes = 3 * 1024 * 1024;

/** How much of a refused body is still read (and dropped), and for how long, before the connection is cut. */
const maxDiscardBytes = 4 * maxBodyBytes;
const maxDiscardMs = 5_000;

export function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > maxBodyBytes) return Promise.reject(refuse(req));
  // Listeners, not `for await`: leaving an async iterator early destroys the request, and with it the socket the
  // 413 should go out on.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        done();
        reject(refuse(req));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      const body = Buffer.concat(chunks);
      receivedBodies.set(req, body);
      resolve(body);
    };
    const onError = (e: Error) => {
      done();
      reject(badRequest(`error reading the request body: ${e.message}`));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/**
 * Refuses an oversized body. The rest of it is read and dropped rather than left unread: closing a socket with
 * unread data sends a TCP reset, and a client still writing its body (kubectl) then sees "broken pipe" instead of
 * the 413 (Go's server avoids the same with its lingering close). A client that keeps on sending is cut off.
 */
function refuse(req: IncomingMessage): ApiError {
  let dropped = 0;
  const cut = () => req.socket.destroy();
  const timer = setTimeout(cut, maxDiscardMs);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > maxDiscardBytes) cut();
  });
  req.once('close', () => clearTimeout(timer));
  req.on('error', () => undefined);
  req.resume();
  return new ApiError('RequestEntityTooLarge', `Request entity too large: limit is ${maxBodyBytes}`);
}

/** The media type without parameters, lower-cased. */
export const mediaType = (contentType: string | undefined): string =>
  (contentType ?? '').split(';')[0]!.trim().toLowerCase();

const jsonTypes = new Set(['', 'application/json']);
const yamlTypes = new Set(['application/yaml', 'text/yaml']);
const protobufType = 'application/vnd.kubernetes.protobuf';

/** Decodes the object body of a create or update: JSON, YAML, and protobuf for built-in kinds; else a 415. */
export function decodeObjectBody(raw: Buffer, contentType: string | undefined, builtin: boolean): unknown {
  const type = mediaType(contentType);
  if (!jsonTypes.has(type) && !yamlTypes.has(type) && !(builtin && type === protobufType)) {
    const accepted = ['application/json', 'application/yaml', ...(builtin ? [protobufType] : [])];
    throw new ApiError(
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
    );
  }
  return decodeBody(raw, contentType);
}

/** Decodes a JSON (or, for YAML media types, YAML) body; an empty body is an error. */
export function decodeBody(raw: Buffer, contentType: string | undefined): unknown {
  const type = mediaType(contentType);
  if (type === protobufType) return decodeKubernetesProtobuf(raw);
  // Invalid UTF-8 becomes U+FFFD, as Go's JSON decoder does.
  const text = raw.toString('utf8');
  if (text.trim() === '') throw badRequest('the body of the request was empty');
  if (yamlTypes.has(type) || type === 'application/apply-patch+yaml') {
    // kubectl and client-node send apply bodies as JSON (valid YAML); JSON.parse is far faster than a YAML parser.
    if (text.trimStart().startsWith('{')) {
      try {
        return parseJson(text);
      } catch (e) {
        if (ApiError.isInstance(e)) throw e;
        // not JSON after all: parse as YAML below
      }
    }
    // The YAML parser recurses per flow level and, some 100,000 levels down, takes the whole process with it.
    if (flowDepthExceeds(text)) throw tooDeep('YAML');
    let value: unknown;
    try {
      value = parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 }) as unknown;
    } catch (e) {
      throw badRequest(`error decoding YAML: ${(e as Error).message.split('\n')[0]}`);
    }
    if (depthExceeds(value)) throw tooDeep('YAML');
    return value;
  }
  try {
    return parseJson(text);
  } catch (e) {
    if (ApiError.isInstance(e)) throw e;
    throw badRequest(`error decoding JSON: ${(e as Error).message}`);
  }
}

const tooDeep = (format: string) => badRequest(`error decoding ${format}: exceeded max depth of ${maxNestingDepth}`);

/** JSON.parse after a linear scan for nesting depth (JSON.parse itself is not recursive; berth's code is). */
function parseJson(text: string): unknown {
  if (jsonDepthExceeds(text)) throw tooDeep('JSON');
  return JSON.parse(text) as unknown;
}
