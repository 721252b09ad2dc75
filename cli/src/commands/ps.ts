// `berth ps`: the Containers of the namespace in docker ps' columns (running ones unless -a; ids only with -q).

import type { Container } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { containerState, humanDuration, isRunning, shortId, statusText } from '../docker/container-state.js';
import { containerFilter } from '../docker/container-filters.js';
import { UsageError } from '../errors.js';
import { ago, formatRows, type Column } from '../output/table.js';

export interface PsOptions {
  readonly namespace?: string;
  readonly all?: boolean;
  readonly quiet?: boolean;
  readonly format?: string;
  readonly noTrunc?: boolean;
  /** docker's --filter KEY=VALUE flags. */
  readonly filter?: readonly string[];
  /** docker's -s: each writable layer's size, and with the image's ("virtual"), as the nodes' agents measured. */
  readonly size?: boolean;
  /** docker's -n/--last: only the n last created, in any state (0 or less: no limit). */
  readonly last?: string;
  /** docker's -l/--latest: --last 1. */
  readonly latest?: boolean;
}

/** docker ps' --last as a number; -1 (docker's default) means every one. */
function lastCount(options: PsOptions): number {
  if (options.last === undefined) return options.latest === true ? 1 : -1;
  if (!/^-?\d+$/.test(options.last)) throw new UsageError(`invalid argument "${options.last}" for "-n, --last" flag`);
  return Number(options.last);
}

/** docker's COMMAND cell: the command line quoted, cut to 20 characters unless --no-trunc. */
export function commandText(c: Container, noTrunc: boolean): string {
  const line = [...(c.spec.command ?? []), ...(c.spec.args ?? [])].join(' ');
  const cut = noTrunc || line.length <= 20 ? line : `${line.slice(0, 19)}…`;
  // Quoted as Go's strconv.Quote does, inner quotes escaped.
  return JSON.stringify(cut);
}

/** docker's PORTS cell: `127.0.0.1:8080->80/tcp`, or `80/tcp` when not published. */
export function portsText(c: Container): string {
  return (c.spec.ports ?? [])
    .map((p) => {
      const proto = (p.protocol ?? 'TCP').toLowerCase();
      return p.hostPort === undefined
        ? `${p.containerPort}/${proto}`
        : `${p.hostIP ?? '127.0.0.1'}:${p.hostPort}->${p.containerPort}/${proto}`;
    })
    .join(', ');
}

export function psColumns(noTrunc: boolean): Column<Container>[] {
  return [
    {
      header: 'CONTAINER ID',
      field: 'ID',
      value: (c) => (noTrunc ? (c.metadata.uid ?? '').replace(/-/g, '') : shortId(c)),
    },
    { header: 'IMAGE', field: 'Image', value: (c) => c.spec.image },
    { header: 'COMMAND', field: 'Command', value: (c) => commandText(c, noTrunc) },
    { header: 'CREATED', field: 'RunningFor', value: (c) => ago(c.metadata.creationTimestamp, humanDuration) },
    { header: 'STATUS', field: 'Status', value: (c) => statusText(c) },
    { header: 'PORTS', field: 'Ports', value: portsText },
    { header: 'NAMES', field: 'Names', value: (c) => c.metadata.name ?? '' },
    { header: 'CREATED AT', field: 'CreatedAt', value: (c) => c.metadata.creationTimestamp ?? '' },
    { header: 'STATE', field: 'State', value: containerState },
    {
      header: 'LABELS',
      field: 'Labels',
      value: (c) =>
        Object.entries(c.metadata.labels ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(','),
    },
  ];
}

export async function ps(options: PsOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const filter = containerFilter(options.filter ?? []);
  const last = lastCount(options);
  const client = new ApiClient(await connectToApi(options.namespace));
  const all = options.all === true || filter.stateful || last > 0;
  const sorted = (await client.list<Container>('containers'))
    .filter((c) => (all || isRunning(c)) && filter.matches(c))
    // Newest first, as docker lists.
    .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? ''));
  const rows = last > 0 ? sorted.slice(0, last) : sorted;
  if (options.quiet === true) {
    out.write(rows.map((c) => `${shortId(c)}\n`).join(''));
    return;
  }
  const columns = psColumns(options.noTrunc === true);
  // The default table is docker's seven columns; the rest are for --format.
  let shown = options.format === undefined ? columns.slice(0, 7) : columns;
  if (options.size === true) {
    const sizes = await sizeColumn(client, rows);
    columns.push(sizes);
    shown = [...shown, sizes];
  }
  const json = (c: Container) => Object.fromEntries(columns.map((col) => [col.field, col.value(c)]));
  out.write(formatRows(rows, shown, options.format, json));
}

/** docker ps -s's SIZE: `300kB (virtual 2.43MB)`, the writable layer and that plus its image's layers. */
async function sizeColumn(client: ApiClient, rows: readonly Container[]): Promise<Column<Container>> {
  // Loaded only for -s: a plain ps needs none of it.
  const [{ diskUsage }, { nodeDiskUsage }, { sizeText }] = await Promise.all([
    import('../docker/disk-usage.js'),
    import('../usage/usage-read.js'),
    import('./images.js'),
  ]);
  const d = diskUsage(await nodeDiskUsage(client), { containers: rows, images: [], volumes: [] });
  const writable = new Map(d.containers.map((c) => [c.container.metadata.uid ?? '', c.size]));
  const imageBytes = new Map(d.images.map((i) => [`${i.node}\n${i.digest}`, i.size]));
  return {
    header: 'SIZE',
    field: 'Size',
    value: (c) => {
      const bytes = writable.get(c.metadata.uid ?? '');
      if (bytes === undefined) return 'N/A';
      const digest = /@(sha256:[0-9a-f]{64})$/.exec(c.status?.imageID ?? '')?.[1] ?? '';
      return `${sizeText(bytes)} (virtual ${sizeText(bytes + (imageBytes.get(`${c.spec.nodeName ?? ''}\n${digest}`) ?? 0))})`;
    },
  };
}
