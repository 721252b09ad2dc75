// The objects of `-f FILE|DIR|-`: YAML (several documents) or JSON, a directory's .yaml/.yml/.json files in name
// order (not recursive, as kubectl without -R), and `kind: List` unpacked into its items.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { LocalFileError, UsageError } from '../errors.js';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

function objectsOf(text: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new UsageError(`error parsing ${source}: ${doc.errors[0]?.message ?? ''}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const items =
      typeof value === 'object' && (value as { kind?: unknown }).kind === 'List'
        ? ((value as { items?: unknown[] }).items ?? [])
        : [value];
    for (const item of items) {
      const m = item as Partial<Manifest>;
      if (typeof m !== 'object' || typeof m.apiVersion !== 'string' || typeof m.kind !== 'string')
        throw new UsageError(`error validating ${source}: an object needs apiVersion and kind`);
      if (typeof m.metadata?.name !== 'string' || m.metadata.name === '')
        throw new UsageError(`error validating ${source}: a ${m.kind} needs metadata.name`);
      out.push(m as Manifest);
    }
  }
  return out;
}

/** The objects the `-f` values name, in order. */
export async function readManifests(
  files: readonly string[],
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<Manifest[]> {
  if (files.length === 0) throw new UsageError('must give -f FILE, DIR or - (stdin)');
  const out: Manifest[] = [];
  for (const file of files) {
    if (file === '-') {
      out.push(...objectsOf(await readAll(stdin), 'stdin'));
      continue;
    }
    let paths = [file];
    try {
      if ((await stat(file)).isDirectory())
        paths = (await readdir(file))
          .filter((n) => /\.(ya?ml|json)$/.test(n))
          .sort()
          .map((n) => join(file, n));
      for (const p of paths) out.push(...objectsOf(await readFile(p, 'utf8'), p));
    } catch (e) {
      if (UsageError.isInstance(e)) throw e;
      throw new LocalFileError(`the path "${file}" does not exist`, e);
    }
  }
  return out;
}
