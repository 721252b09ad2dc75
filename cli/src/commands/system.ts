// `berth system df` and `berth system prune`, and the prune steps `volume prune` shares: what the namespace's
// objects hold (sizes as the API knows them) and removing what nothing uses, as docker's daemon does.

import type { Container, Image, Network, Volume } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { containerState, humanDuration, isRunning, shortId, statusText } from '../docker/container-state.js';
import { diskUsage } from '../docker/disk-usage.js';
import { nodeDiskUsage } from '../usage/usage-read.js';
import { ago, formatRows, renderTable, type Column } from '../output/table.js';
import { digestId, sizeText, splitReference } from './images.js';
import { commandText } from './ps.js';

/** Whether docker's container prune removes it: it ran and stopped (or was stopped), and is not on its way. */
const stopped = (c: Container): boolean =>
  !isRunning(c) && (containerState(c) === 'exited' || (c.spec.stopped === true && c.status?.phase !== 'Pulling'));

const volumesOf = (c: Container): string[] =>
  (c.spec.volumes ?? []).flatMap((v) => (v.volumeRef === undefined ? [] : [v.volumeRef.name]));
const networksOf = (c: Container): string[] => (c.spec.networks ?? []).map((n) => n.name);
/** What a Container runs, as an Image object's spec.image would name it. */
const imageKey = (reference: string): string => {
  const { repository, tag } = splitReference(reference);
  return `${repository}:${tag}`;
};
/** A Volume `berth volume create` (or docker) named itself: 48 hex digits. */
const anonymous = (v: Volume): boolean => /^[0-9a-f]{48}$/.test(v.metadata.name ?? '');
const built = (i: Image): boolean => i.spec.build !== undefined;

interface Usage {
  containers: Container[];
  images: Image[];
  volumes: Volume[];
  networks: Network[];
}

async function usage(client: ApiClient): Promise<Usage> {
  const [containers, images, volumes, networks] = await Promise.all([
    client.list<Container>('containers'),
    client.list<Image>('images'),
    client.list<Volume>('volumes'),
    client.list<Network>('networks'),
  ]);
  return { containers, images, volumes, networks };
}

const percent = (part: number, whole: number) => (whole === 0 ? '' : ` (${Math.round((part / whole) * 100)}%)`);

/** docker's columns and template fields of the summary. */
const dfColumns: Column<readonly string[]>[] = ['Type', 'TotalCount', 'Active', 'Size', 'Reclaimable'].map(
  (field, i) => ({
    header: ['TYPE', 'TOTAL', 'ACTIVE', 'SIZE', 'RECLAIMABLE'][i] ?? '',
    field,
    value: (r) => r[i] ?? '',
  }),
);

export interface DfOptions {
  readonly namespace?: string;
  /** table, json, or a template like "{{.Type}} {{.Size}}" (the summary only). */
  readonly format?: string;
  /** docker's -v: a table of each image, Container, Volume and cache entry. */
  readonly verbose?: boolean;
}

export async function systemDf(options: DfOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const [u, reports] = await Promise.all([usage(client), nodeDiskUsage(client)]);
  const d = diskUsage(reports, u);
  const measured = reports.length > 0;
  const size = (bytes: number) => (measured ? sizeText(bytes) : 'N/A');
  const reclaim = (part: number, whole: number) => (measured ? `${sizeText(part)}${percent(part, whole)}` : 'N/A');
  const containersSize = d.containers.reduce((n, c) => n + (c.size ?? 0), 0);
  const stoppedSize = d.containers.filter((c) => stopped(c.container)).reduce((n, c) => n + (c.size ?? 0), 0);
  const usedVolumes = new Set(u.containers.flatMap(volumesOf));
  const active = (v: Volume) => usedVolumes.has(v.metadata.name ?? '') || (v.status?.usedBy ?? []).length > 0;
  const volumesSize = d.volumes.reduce((n, v) => n + (v.size ?? 0), 0);
  const unusedVolumesSize = d.volumes.filter((v) => !active(v.volume)).reduce((n, v) => n + (v.size ?? 0), 0);
  // Without the nodes' figures, the images' sizes are the Image objects' (what a pull reported).
  const images = measured ? d.images.length : u.images.length;
  const activeImages = measured
    ? d.images.filter((i) => i.containers > 0).length
    : u.images.filter((i) => new Set(u.containers.map((c) => imageKey(c.spec.image))).has(imageKey(i.spec.image)))
        .length;
  const objectImagesSize = u.images.reduce((n, i) => n + (i.status?.size ?? 0), 0);
  const rows: string[][] = [
    [
      'Images',
      String(images),
      String(activeImages),
      measured ? sizeText(d.imagesSize) : sizeText(objectImagesSize),
      measured ? reclaim(d.imagesReclaimable, d.imagesSize) : 'N/A',
    ],
    [
      'Containers',
      String(u.containers.length),
      String(u.containers.filter(isRunning).length),
      size(containersSize),
      reclaim(stoppedSize, containersSize),
    ],
    [
      'Local Volumes',
      String(u.volumes.length),
      String(u.volumes.filter(active).length),
      size(volumesSize),
      reclaim(unusedVolumesSize, volumesSize),
    ],
    [
      'Build Cache',
      String(measured ? d.buildCache.length : u.images.filter(built).length),
      '0',
      size(d.buildCacheSize),
      measured ? sizeText(d.buildCacheReclaimable) : 'N/A',
    ],
  ];
  out.write(
    formatRows(rows, dfColumns, options.format, (r) => Object.fromEntries(dfColumns.map((c) => [c.field, c.value(r)]))),
  );
  if (options.verbose !== true) return;
  const now = Date.now();
  const since = (t: string | undefined) =>
    t === undefined || Number.isNaN(Date.parse(t)) ? '' : ago(t, humanDuration, now);
  out.write('\nImages space usage:\n\n');
  out.write(
    renderTable(
      ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE', 'SHARED SIZE', 'UNIQUE SIZE', 'CONTAINERS'],
      d.images.flatMap((i) =>
        (i.references.length === 0 ? ['<none>'] : i.references).map((reference) => {
          const { repository, tag } =
            reference === '<none>' ? { repository: '<none>', tag: '<none>' } : splitReference(reference);
          return [
            repository,
            tag,
            digestId(i.id),
            since(i.created),
            sizeText(i.size),
            sizeText(i.shared),
            sizeText(i.size - i.shared),
            String(i.containers),
          ];
        }),
      ),
    ),
  );
  out.write('\nContainers space usage:\n\n');
  out.write(
    renderTable(
      ['CONTAINER ID', 'IMAGE', 'COMMAND', 'LOCAL VOLUMES', 'SIZE', 'CREATED', 'STATUS', 'NAMES'],
      d.containers.map(({ container: c, size: bytes }) => [
        shortId(c),
        c.spec.image,
        commandText(c, false),
        String(volumesOf(c).length),
        bytes === undefined ? 'N/A' : sizeText(bytes),
        since(c.metadata.creationTimestamp),
        statusText(c),
        c.metadata.name ?? '',
      ]),
    ),
  );
  out.write('\nLocal Volumes space usage:\n\n');
  out.write(
    renderTable(
      ['VOLUME NAME', 'LINKS', 'SIZE'],
      d.volumes.map((v) => [
        v.volume.metadata.name ?? '',
        String(v.links),
        v.size === undefined ? 'N/A' : sizeText(v.size),
      ]),
    ),
  );
  out.write(`\nBuild cache usage: ${size(d.buildCacheSize)}\n\n`);
  out.write(
    renderTable(
      ['CACHE ID', 'CACHE TYPE', 'SIZE', 'SHARED'],
      d.buildCache.map((e) => [digestId(e.layer), 'regular', sizeText(e.size), String(e.shared)]),
    ),
  );
}

/** Deletes each and waits until it is gone (finalizers: a node takes a Container down, a Volume's data goes). */
async function removeAll(
  client: ApiClient,
  plural: 'containers' | 'volumes' | 'networks' | 'images',
  names: readonly string[],
): Promise<void> {
  await Promise.all(
    names.map(async (name) => {
      await client.delete(plural, name);
      await waitFor(client, plural, name, (x) => (x === undefined ? true : undefined), 120_000);
    }),
  );
}

async function confirmed(question: string, stdin: NodeJS.ReadableStream, out: NodeJS.WritableStream): Promise<boolean> {
  out.write(`${question}\nAre you sure you want to continue? [y/N] `);
  let answer = '';
  for await (const chunk of stdin) {
    answer += chunk.toString();
    if (answer.includes('\n')) break;
  }
  return /^y(es)?$/i.test(answer.trim());
}

export interface PruneOptions {
  readonly namespace?: string;
  readonly all?: boolean;
  readonly volumes?: boolean;
  readonly force?: boolean;
}

type Io = { stdin: NodeJS.ReadableStream; stdout: NodeJS.WritableStream };

/** The unused Volumes: anonymous ones only, or all with `all` (docker 23's volume prune). */
function unusedVolumes(u: Usage, all: boolean, alsoFreed: ReadonlySet<string>): string[] {
  const used = new Set(u.containers.filter((c) => !alsoFreed.has(c.metadata.name ?? '')).flatMap(volumesOf));
  return u.volumes
    .filter((v) => (all || anonymous(v)) && !used.has(v.metadata.name ?? ''))
    .map((v) => v.metadata.name ?? '');
}

function section(out: NodeJS.WritableStream, title: string, names: readonly string[]): void {
  if (names.length > 0) out.write(`${title}:\n${names.map((n) => `${n}\n`).join('')}\n`);
}

export async function volumePrune(options: PruneOptions, io: Io = process): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  if (
    options.force !== true &&
    !(await confirmed(
      options.all === true
        ? 'WARNING! This will remove all local volumes not used by at least one container.'
        : 'WARNING! This will remove anonymous local volumes not used by at least one container.',
      io.stdin,
      io.stdout,
    ))
  )
    return;
  const volumes = unusedVolumes(await usage(client), options.all === true, new Set());
  await removeAll(client, 'volumes', volumes);
  section(io.stdout, 'Deleted Volumes', volumes);
  io.stdout.write('Total reclaimed space: 0B\n');
}

export async function systemPrune(options: PruneOptions, io: Io = process): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const all = options.all === true;
  if (options.force !== true) {
    const items = [
      '  - all stopped containers',
      '  - all networks not used by at least one container',
      ...(options.volumes === true ? ['  - all anonymous volumes not used by at least one container'] : []),
      all ? '  - all images without at least one container associated to them' : '  - all dangling images',
    ];
    if (!(await confirmed(`WARNING! This will remove:\n${items.join('\n')}\n`, io.stdin, io.stdout))) return;
  }
  const u = await usage(client);
  const containers = u.containers.filter(stopped).map((c) => c.metadata.name ?? '');
  const gone = new Set(containers);
  const left = u.containers.filter((c) => !gone.has(c.metadata.name ?? ''));
  await removeAll(client, 'containers', containers);
  const usedNetworks = new Set(left.flatMap(networksOf));
  const networks = u.networks.map((n) => n.metadata.name ?? '').filter((n) => !usedNetworks.has(n));
  const usedImages = new Set(left.map((c) => imageKey(c.spec.image)));
  // An Image object is berth's tag: none is dangling, so without -a only failed pulls and builds go.
  const images = u.images
    .filter((i) => !usedImages.has(imageKey(i.spec.image)) && (all || i.status?.phase === 'Failed'))
    .map((i) => i.metadata.name ?? '');
  const volumes = options.volumes === true ? unusedVolumes(u, false, gone) : [];
  await Promise.all([
    removeAll(client, 'networks', networks),
    removeAll(client, 'images', images),
    removeAll(client, 'volumes', volumes),
  ]);
  const reclaimed = u.images
    .filter((i) => images.includes(i.metadata.name ?? ''))
    .reduce((n, i) => n + (i.status?.size ?? 0), 0);
  section(io.stdout, 'Deleted Containers', containers);
  section(io.stdout, 'Deleted Networks', networks);
  section(io.stdout, 'Deleted Volumes', volumes);
  section(io.stdout, 'Deleted Images', images);
  io.stdout.write(`Total reclaimed space: ${sizeText(reclaimed)}\n`);
}
