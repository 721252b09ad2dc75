// `berth stats`: docker stats' columns for the namespace's running Containers (or the ones named), live: the
// table is redrawn every second until interrupted, or printed once with --no-stream. Read from the API server's
// ContainerMetrics, as `kubectl top` reads PodMetrics.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Container } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { shortId } from '../docker/container-state.js';
import { CliError } from '../errors.js';
import { formatRows, type Column } from '../output/table.js';
import {
  binarySize,
  bytesOf,
  containerUsage,
  cores,
  decimalSize,
  nodeCapacities,
  percent,
  type ContainerUsage,
} from '../usage/usage-read.js';

export interface StatsOptions {
  readonly namespace?: string;
  /** Print once and exit. */
  readonly noStream?: boolean;
  readonly format?: string;
  /** Redraw interval. @default 1000 */
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
}

interface Row {
  readonly usage: ContainerUsage;
  /** Where unlimited memory is measured against, as docker uses the host's. */
  readonly nodeMemory: number;
}

const memoryOf = (r: Row) => bytesOf(r.usage.usage.memory) ?? 0;
const limitOf = (r: Row) => bytesOf(r.usage.limits?.memory) ?? r.nodeMemory;

export const statsColumns: Column<Row>[] = [
  { header: 'CONTAINER ID', field: 'ID', value: (r) => shortId(r.usage) },
  { header: 'NAME', field: 'Name', value: (r) => r.usage.metadata.name },
  { header: 'CPU %', field: 'CPUPerc', value: (r) => `${(cores(r.usage.usage.cpu) * 100).toFixed(2)}%` },
  {
    header: 'MEM USAGE / LIMIT',
    field: 'MemUsage',
    value: (r) => `${binarySize(memoryOf(r))} / ${binarySize(limitOf(r))}`,
  },
  { header: 'MEM %', field: 'MemPerc', value: (r) => percent(memoryOf(r), limitOf(r)) },
  {
    header: 'NET I/O',
    field: 'NetIO',
    value: (r) => `${decimalSize(r.usage.network?.rxBytes ?? 0)} / ${decimalSize(r.usage.network?.txBytes ?? 0)}`,
  },
  { header: 'BLOCK I/O', field: 'BlockIO', value: () => '--' },
  { header: 'PIDS', field: 'PIDs', value: (r) => r.usage.usage.pids ?? '0' },
];

async function rows(client: ApiClient, names: readonly string[]): Promise<Row[]> {
  const [usages, nodes, containers] = await Promise.all([
    containerUsage(client),
    nodeCapacities(client),
    client.list<Container>('containers'),
  ]);
  const nodeOf = new Map(containers.map((c) => [c.metadata.uid ?? '', c.spec.nodeName ?? '']));
  const memory = new Map(nodes.map((n) => [n.name, n.memoryBytes]));
  const wanted = (u: ContainerUsage) =>
    names.length === 0 || names.some((n) => n === u.metadata.name || (n.length >= 3 && shortId(u).startsWith(n)));
  const found = usages.filter(wanted);
  const missing = names.filter((n) => !found.some((u) => u.metadata.name === n || shortId(u).startsWith(n)));
  if (missing.length > 0) throw new CliError('BERTH_CLI_API', `No such container: ${missing[0]}`);
  return found
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
    .map((usage) => ({ usage, nodeMemory: memory.get(nodeOf.get(usage.metadata.uid ?? '') ?? '') ?? 0 }));
}

export async function stats(
  names: readonly string[],
  options: StatsOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const render = async () => formatRows(await rows(client, names), statsColumns, options.format, (r) => r.usage);
  if (options.noStream === true) {
    out.write(await render());
    return;
  }
  while (options.signal?.aborted !== true) {
    const table = await render();
    // docker redraws in place: clear the screen, cursor home.
    out.write(`\x1b[2J\x1b[H${table}`);
    await sleep(options.intervalMs ?? 1000, undefined, { signal: options.signal }).catch(() => undefined);
  }
}
