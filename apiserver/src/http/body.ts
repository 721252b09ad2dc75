// Reads request bodies with a size limit and decodes JSON or YAML into plain data, with Kubernetes-style errors.

import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest } from '../errors/api-error.js';
import { decodeKubernetesProtobuf } from './protobuf.js';

/** Kubernetes' limit on a request body (3 MiB). */
export const maxBodyBytes = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > maxBodyBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const tooLarge = () => new ApiError('RequestEntityTooLarge', 'Request entity too large: limit is 3145728');

/** The media type without parameters, lower-cased. */
export const mediaType = (contentType: string | undefined): string => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

/** Decodes a JSON (or, for YAML media types, YAML) body; an empty body is an error. */
export function decodeBody(raw: Buffer, contentType: string | undefined): unknown {
  const type = mediaType(contentType);
  if (type === 'application/vnd.kubernetes.protobuf') return decodeKubernetesProtobuf(raw);
  const text = raw.toString('utf8');
  if (text.trim() === '') throw badRequest('the body of the request was empty');
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml' || type === 'text/yaml') {
    // kubectl and client-node send apply bodies as JSON (valid YAML); JSON.parse is far faster than a YAML parser.
    if (text.trimStart().startsWith('{')) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        // not JSON after all: parse as YAML below
      }
    }
    try {
      return parseYaml(text, { uniqueKeys: true, maxAliasCount: 100 }) as unknown;
    } catch (e) {
      throw badRequest(`error decoding YAML: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw badRequest(`error decoding JSON: ${(e as Error).message}`);
  }
}
