// Compose's top-level configs and secrets as ConfigMaps and Secrets of the project (one key each, named for the
// config), and a service's use of one as a file: a configMap or secret volume mounted at the target through
// subPath. Targets default as Compose's do: /<name> for a config, /run/secrets/<name> for a secret.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ContainerSpec } from '@berth/api';
import type { ApiObject } from '../api/client.js';
import { LocalFileError, UsageError } from '../errors.js';

type Obj = Record<string, unknown>;
type Kind = 'configs' | 'secrets';

export interface FileObject extends ApiObject {
  apiVersion: 'v1';
  kind: 'ConfigMap' | 'Secret';
  type?: string;
  data: Record<string, string>;
}

export interface ProjectFiles {
  readonly configMaps: FileObject[];
  readonly secrets: FileObject[];
  /** The object a top-level name stands for (the project's, or an external one's own name). */
  readonly objectName: (kind: Kind, name: string) => string;
}

async function content(kind: Kind, name: string, def: Obj, dir: string): Promise<string> {
  if (typeof def['content'] === 'string') return def['content'];
  if (typeof def['environment'] === 'string') {
    const value = process.env[def['environment']];
    if (value === undefined)
      throw new UsageError(`${kind} ${name}: environment variable ${def['environment']} is not set`);
    return value;
  }
  if (typeof def['file'] === 'string') {
    const path = resolve(dir, def['file']);
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      throw new LocalFileError(`${kind} ${name}: cannot read ${path}: ${(e as Error).message}`, e);
    }
  }
  throw new UsageError(`${kind} ${name}: give file, content, environment or external: true`);
}

/** The project's ConfigMaps and Secrets from the file's top-level configs and secrets. */
export async function projectFiles(
  doc: Obj,
  project: string,
  labels: Record<string, string>,
  dir: string,
  dnsName: (text: string) => string,
): Promise<ProjectFiles> {
  const defs = (kind: Kind) => (doc[kind] ?? {}) as Record<string, Obj>;
  const objects = async (kind: Kind): Promise<FileObject[]> => {
    const out: FileObject[] = [];
    for (const [name, def] of Object.entries(defs(kind))) {
      if (def?.['external'] === true) continue;
      const text = await content(kind, name, def ?? {}, dir);
      out.push({
        apiVersion: 'v1',
        kind: kind === 'configs' ? 'ConfigMap' : 'Secret',
        metadata: { name: `${project}-${dnsName(name)}`, labels },
        ...(kind === 'secrets'
          ? { type: 'Opaque', data: { [name]: Buffer.from(text).toString('base64') } }
          : { data: { [name]: text } }),
      });
    }
    return out;
  };
  return {
    configMaps: await objects('configs'),
    secrets: await objects('secrets'),
    objectName: (kind, name) => {
      const def = defs(kind)[name];
      if (def === undefined) throw new UsageError(`service refers to undefined ${kind.slice(0, -1)} ${name}`);
      return def?.['external'] === true ? String(def['name'] ?? name) : `${project}-${dnsName(name)}`;
    },
  };
}

/** The volumes and mounts a service's `configs:` and `secrets:` lists stand for. */
export function fileMounts(
  service: Obj,
  files: ProjectFiles,
): { volumes: NonNullable<ContainerSpec['volumes']>; mounts: NonNullable<ContainerSpec['volumeMounts']> } {
  const volumes: NonNullable<ContainerSpec['volumes']> = [];
  const mounts: NonNullable<ContainerSpec['volumeMounts']> = [];
  for (const kind of ['configs', 'secrets'] as const) {
    for (const [i, use] of ((service[kind] ?? []) as unknown[]).entries()) {
      const o: Obj = typeof use === 'string' ? { source: use } : (use as Obj);
      const source = String(o['source'] ?? '');
      const target = typeof o['target'] === 'string' ? o['target'] : undefined;
      const mountPath =
        kind === 'configs'
          ? (target ?? `/${source}`)
          : target?.startsWith('/') === true
            ? target
            : `/run/secrets/${target ?? source}`;
      const name = `${kind.slice(0, -1)}-${i}`;
      const mode = o['mode'] === undefined ? {} : { defaultMode: Number(o['mode']) };
      volumes.push(
        kind === 'configs'
          ? { name, configMap: { name: files.objectName(kind, source), ...mode } }
          : { name, secret: { secretName: files.objectName(kind, source), ...mode } },
      );
      mounts.push({ name, mountPath, subPath: source, readOnly: true });
    }
  }
  return { volumes, mounts };
}
