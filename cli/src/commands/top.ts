// `berth top`: what the cluster uses now, as `kubectl top node` and `kubectl top pod` show it in one go: each
// Node's CPU and memory against its allocatable, then the namespace's Containers, busiest first. `berth top NAME
// [ps OPTIONS]` is docker top's: the Container's processes, as its node's ps lists them (its `top` subresource).

import { connectToApi, containerPath } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { renderTable } from '../output/table.js';
import { bytesOf, containerUsage, cores, nodeCapacities, nodeUsage, percent } from '../usage/usage-read.js';

export interface TopOptions {
  readonly namespace?: string;
}

const millicores = (cpu: string) => `${Math.round(cores(cpu) * 1000)}m`;
const mebibytes = (bytes: number) => `${Math.round(bytes / 1024 / 1024)}Mi`;

export async function top(options: TopOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const [nodes, capacities, containers] = await Promise.all([
    nodeUsage(client),
    nodeCapacities(client),
    containerUsage(client),
  ]);
  const capacity = new Map(capacities.map((c) => [c.name, c]));
  out.write(
    renderTable(
      ['NODE', 'CPU(cores)', 'CPU(%)', 'MEMORY(bytes)', 'MEMORY(%)'],
      nodes.map((n) => {
        const c = capacity.get(n.metadata.name);
        const memory = bytesOf(n.usage.memory) ?? 0;
        return [
          n.metadata.name,
          millicores(n.usage.cpu),
          c === undefined ? '--' : percent(cores(n.usage.cpu), c.cpuCores).replace(/\.\d+%$/, '%'),
          mebibytes(memory),
          c === undefined ? '--' : percent(memory, c.memoryBytes).replace(/\.\d+%$/, '%'),
        ];
      }),
    ),
  );
  out.write('\n');
  out.write(
    renderTable(
      ['CONTAINER', 'CPU(cores)', 'MEMORY(bytes)', 'PIDS'],
      [...containers]
        .sort((a, b) => cores(b.usage.cpu) - cores(a.usage.cpu))
        .map((c) => [
          c.metadata.name,
          millicores(c.usage.cpu),
          mebibytes(bytesOf(c.usage.memory) ?? 0),
          c.usage.pids ?? '0',
        ]),
    ),
  );
}

/** docker's TopResponse, as the agent answers the `top` subresource. */
interface TopResponse {
  readonly Titles: readonly string[];
  readonly Processes: ReadonlyArray<readonly string[]>;
}

/** docker top NAME [ps OPTIONS]: ps runs on the node (default `-ef`), only options and -o field lists pass. */
export async function containerTop(
  name: string,
  psArgs: readonly string[],
  options: TopOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const query = psArgs.length === 0 ? '' : `?${new URLSearchParams({ ps_args: psArgs.join(' ') })}`;
  const top = await client.request<TopResponse>('GET', `${containerPath(client.namespace, name, 'top')}${query}`);
  // docker's tabwriter: every column at least 20 wide, three spaces between.
  const widen = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(17)));
  out.write(renderTable(widen(top.Titles), top.Processes.map(widen)));
}
