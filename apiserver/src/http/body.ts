// Reads request bodies with a size limit and decodes JSON or YAML into plain data, with Kubernetes-style errors.

import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest } from '../errors/api-error.js';
import { decodeKubernetesProtobuf } from './protobuf.js';

/** Kubernetes' limit on a request body (3 MiB). */
export const maxBodyBytes = 3 * 1024 * 1024;

/**
 * How deep a body may nest. Kubernetes' JSON decoder stops at 10,000 levels; berth's recursive merge, ownership
 * and validation code runs out of stack well before that, so berth draws the line where it still answers.
 */
export const maxNestingDepth = 1000;

/** Requests whose body was refused as too large: their answer closes the connection (the rest is never read). */
const oversized = new WeakSet<IncomingMessage>();

/** Whether the answer to `req` must close the connection because its body was not read to the end. */
export const mustCloseConnection = (req: IncomingMessage): boolean => oversized.has(req);

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
      resolve(Buffer.concat(chunks));
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

/** Stops reading an oversized body and marks its answer to close the connection, as Go's MaxBytesReader does. */
function refuse(req: IncomingMessage): ApiError {
  oversized.add(req);
  req.pause();
  return new ApiError('RequestEntityTooLarge', `Request entity too large: limit is ${maxBodyBytes}`);
}

/** The media type without parameters, lower-cased. */
export const mediaType = (contentType: string | undefined): string => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

const jsonTypes = new Set(['', 'application/json']);
const yamlTypes = new Set(['application/yaml', 'text/yaml']);
const protobufType = 'application/vnd.kubernetes.protobuf';

/** Decodes the object body of a create or update: JSON, YAML, and protobuf for built-in kinds; else a 415. */
export function decodeObjectBody(raw: Buffer, contentType: string | undefined, builtin: boolean): unknown {
  const type = mediaType(contentType);
  if (!jsonTypes.has(type) && !yamlTypes.has(type) && !(builtin && type === protobufType)) {
    const accepted = ['application/json', 'application/yaml', ...(builtin ? [protobufType] : [])];
    throw new ApiError('UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`);
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
    if (depthOf(value) > maxNestingDepth) throw tooDeep('YAML');
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
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxNestingDepth) throw tooDeep('JSON');
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return JSON.parse(text) as unknown;
}

/** Whether YAML flow collections (`[`, `{`) nest deeper than allowed; quotes and comments are skipped. */
function flowDepthExceeds(text: string): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === "'") {
      for (i++; i < text.length; i++) {
        if (text[i] !== "'") continue;
        if (text[i + 1] !== "'") break;
        i++;
      }
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '[' || c === '{') {
      if (++depth > maxNestingDepth) return true;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return false;
}

/** The nesting depth of decoded data, without recursion (a YAML document can nest as deep as it likes). */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  const seen = new Set<unknown>();
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    max = Math.max(max, d + 1);
    if (max > maxNestingDepth) return max;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}
