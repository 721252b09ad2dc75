// Reads the manifests under a path of an artifact: a kustomization there is built with `kubectl kustomize` (the
// kustomize every machine here has, so overlays, namePrefix, commonLabels, images and patches mean what they mean
// upstream); otherwise every *.yaml, *.yml and *.json file under it, multi-document, `kind: List` expanded, in path
// order. Any file that does not parse, or an object without apiVersion, kind and name, fails the whole build and
// the error names the file (a revision is applied whole or not at all).
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { GitOpsError } from '../errors.js';

export interface Manifest {
  /** The file it came from, relative to the artifact's root. */
  readonly file: string;
  readonly object: KubernetesObject & Record<string, unknown>;
}

const kustomizationFiles = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** The manifests under `path` of the artifact at `root`; throws BERTH_GITOPS_BUILD naming the file at fault. */
export async function readManifests(
  root: string,
  path: string,
  options: { readonly kubectl?: string; readonly signal?: AbortSignal } = {},
): Promise<Manifest[]> {
  const dir = resolve(root, path);
  if (dir !== root && !dir.startsWith(root + sep))
    throw new GitOpsError('BERTH_GITOPS_BUILD', `path ${JSON.stringify(path)} leaves the artifact`);
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined || !info.isDirectory())
    throw new GitOpsError('BERTH_GITOPS_BUILD', `path ${JSON.stringify(path)} not found in the artifact`);
  for (const name of kustomizationFiles) {
    if ((await stat(join(dir, name)).catch(() => undefined))?.isFile() === true) {
      const file = relative(root, join(dir, name)).split(sep).join('/');
      return parseDocuments(file, await kustomize(options.kubectl ?? 'kubectl', dir, file, options.signal));
    }
  }
  const files = (await walk(dir)).sort();
  const out: Manifest[] = [];
  for (const abs of files) {
    const file = relative(root, abs).split(sep).join('/');
    const base = file.slice(file.lastIndexOf('/') + 1);
    // A kustomization below the path is a base some overlay elsewhere builds, not an object to apply.
    if (kustomizationFiles.includes(base) || !/\.(ya?ml|json)$/.test(base)) continue;
    out.push(...parseDocuments(file, await readFile(abs, 'utf8')));
  }
  return out;
}

function parseDocuments(file: string, text: string): Manifest[] {
  const out: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    const error = doc.errors[0];
    if (error !== undefined)
      throw new GitOpsError('BERTH_GITOPS_BUILD', `${file}: invalid YAML: ${error.message.split('\n')[0]}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    for (const object of expandList(file, value)) out.push({ file, object });
  }
  return out;
}

/** `kubectl kustomize DIR`: the built YAML, or BERTH_GITOPS_BUILD with kustomize's own message. */
function kustomize(kubectl: string, dir: string, file: string, signal: AbortSignal | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      kubectl,
      ['kustomize', dir],
      { maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', ...(signal !== undefined ? { signal } : {}) },
      (err, stdout, stderr) => {
        if (err === null) resolve(stdout);
        else
          reject(
            new GitOpsError('BERTH_GITOPS_BUILD', `${file}: kustomize build failed: ${stderr.trim() || err.message}`),
          );
      },
    );
  });
}

function expandList(file: string, value: unknown): (KubernetesObject & Record<string, unknown>)[] {
  const obj = checkObject(file, value);
  if (obj.kind === 'List' && Array.isArray(obj['items'])) return obj['items'].map((item) => checkObject(file, item));
  return [obj];
}

function checkObject(file: string, value: unknown): KubernetesObject & Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new GitOpsError('BERTH_GITOPS_BUILD', `${file}: a document is not an object`);
  const obj = value as KubernetesObject & Record<string, unknown>;
  if (obj.kind === 'List') return obj;
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string' || typeof obj.metadata?.name !== 'string')
    throw new GitOpsError('BERTH_GITOPS_BUILD', `${file}: an object lacks apiVersion, kind or metadata.name`);
  return obj;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}
