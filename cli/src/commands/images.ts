// `berth images` and `berth pull`. The API models an image as an Image object (crds/image.yaml); `pull` records
// one and reports its status once a node has pulled it. `images` lists the Image objects and the images the
// namespace's Containers run (their status.imageID), which is what a node holds for them.

import { createHash } from 'node:crypto';
import type { Container, Image } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { humanDuration } from '../docker/container-state.js';
import { CliError } from '../errors.js';
import { ago, formatRows, type Column } from '../output/table.js';
import { loginSecret } from './login.js';

/** `host:5000/library/busybox:1.36` → repository `host:5000/library/busybox`, tag `1.36` (`latest` if none). */
export function splitReference(reference: string): { repository: string; tag: string } {
  const [name, digest] = reference.split('@') as [string, string | undefined];
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > slash) return { repository: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repository: name, tag: digest === undefined ? 'latest' : '<none>' };
}

/** A stable object name for a reference: its last path part and tag, and a hash of the whole for uniqueness. */
export function imageObjectName(reference: string): string {
  const { repository, tag } = splitReference(reference);
  const base = `${repository.split('/').pop() ?? 'image'}-${tag}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  const hash = createHash('sha256').update(reference).digest('hex').slice(0, 8);
  return `${base.replace(/^-+|-+$/g, '').slice(0, 50)}-${hash}`;
}

interface Row {
  readonly repository: string;
  readonly tag: string;
  readonly id: string;
  readonly created: string | undefined;
  readonly size: number | undefined;
}

export const sizeText = (bytes: number | undefined): string => {
  if (bytes === undefined) return '';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let n = bytes;
  let u = 0;
  while (n >= 1000 && u < units.length - 1) {
    n /= 1000;
    u++;
  }
  return `${n >= 100 || u === 0 ? Math.round(n) : n.toFixed(n >= 10 ? 1 : 2).replace(/\.?0+$/, '')}${units[u]}`;
};

export const digestId = (digest: string | undefined): string => (digest ?? '').replace(/^.*sha256:/, '').slice(0, 12);

const columns: Column<Row>[] = [
  { header: 'REPOSITORY', field: 'Repository', value: (r) => r.repository },
  { header: 'TAG', field: 'Tag', value: (r) => r.tag },
  { header: 'IMAGE ID', field: 'ID', value: (r) => r.id },
  { header: 'CREATED', field: 'CreatedSince', value: (r) => ago(r.created, humanDuration) },
  { header: 'SIZE', field: 'Size', value: (r) => sizeText(r.size) },
];

export interface ImagesOptions {
  readonly namespace?: string;
  readonly quiet?: boolean;
  readonly format?: string;
}

export async function images(options: ImagesOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  // What the Containers run, by repository:tag: the digest a node resolved for them.
  const running = new Map<string, string>();
  for (const c of await client.list<Container>('containers')) {
    const { repository, tag } = splitReference(c.spec.image);
    if (c.status?.imageID !== undefined) running.set(`${repository}:${tag}`, digestId(c.status.imageID));
  }
  const rows = new Map<string, Row>();
  for (const i of await client.list<Image>('images')) {
    const { repository, tag } = splitReference(i.spec.image);
    const key = `${repository}:${tag}`;
    const id = digestId(i.status?.imageID ?? i.status?.digest);
    rows.set(key, {
      repository,
      tag,
      id: id === '' ? (running.get(key) ?? '') : id,
      created: i.metadata.creationTimestamp,
      size: i.status?.size,
    });
  }
  for (const [key, id] of running) {
    if (rows.has(key)) continue;
    const { repository, tag } = splitReference(key);
    rows.set(key, { repository, tag, id, created: undefined, size: undefined });
  }
  const sorted = [...rows.values()].sort((a, b) =>
    `${a.repository}:${a.tag}`.localeCompare(`${b.repository}:${b.tag}`),
  );
  if (options.quiet === true) {
    out.write([...new Set(sorted.map((r) => r.id).filter((id) => id !== ''))].map((id) => `${id}\n`).join(''));
    return;
  }
  const json = (r: Row) => Object.fromEntries(columns.map((c) => [c.field, c.value(r)]));
  out.write(formatRows(sorted, columns, options.format, json));
}

export interface PullOptions {
  readonly namespace?: string;
  readonly quiet?: boolean;
  /** Seconds to wait for a node to report the pull. */
  readonly wait?: string;
}

/** Records the Image (pull policy Always) and reports the digest once its status says it is pulled. */
export async function pull(
  reference: string,
  options: PullOptions,
  out: NodeJS.WritableStream = process.stdout,
  notes: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const name = imageObjectName(reference);
  const existing = await client.find<Image>('images', name);
  // As `berth run`: the namespace's `berth login` Secret, if any, is the pull's credentials.
  const pullSecret = existing === undefined ? await loginSecret(client) : undefined;
  if (existing === undefined)
    await client.create<Image>('images', {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Image',
      metadata: { name },
      spec: {
        image: reference,
        pullPolicy: 'Always',
        ...(pullSecret !== undefined ? { imagePullSecrets: [{ name: pullSecret }] } : {}),
      },
    });
  const { tag } = splitReference(reference);
  if (options.quiet !== true) out.write(`${tag}: Pulling from ${splitReference(reference).repository}\n`);
  const waitMs = Number(options.wait ?? '15') * 1000;
  let outcome: Image;
  try {
    outcome = await waitFor<Image, Image>(
      client,
      'images',
      name,
      (i) => {
        const s = i?.status;
        return s !== undefined &&
          s.observedGeneration === i?.metadata.generation &&
          (s.phase === 'Ready' || s.phase === 'Failed')
          ? i
          : undefined;
      },
      waitMs,
    );
  } catch {
    notes.write(
      `berth: Image ${name} records the pull of ${reference}, but no node has reported pulling it within ${waitMs / 1000}s (see kubectl describe image ${name})\n`,
    );
    return;
  }
  if (outcome.status?.phase === 'Failed')
    throw new CliError('BERTH_CLI_API', outcome.status.message ?? `pulling ${reference} failed`);
  if (options.quiet !== true)
    out.write(`Digest: ${outcome.status?.digest ?? ''}\nStatus: Image is up to date for ${reference}\n`);
  out.write(`${reference}\n`);
}
