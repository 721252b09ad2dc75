// `berth network create|ls|rm|inspect`: Network objects, printed as docker network prints them.

import type { Container, Network } from '@berth/api';
import { isDNS1123Label } from '@berth/api/helpers';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { parseLabels } from '../docker/run-spec.js';
import { exitOutcome, isRunning, shortId } from '../docker/container-state.js';
import { resolveContainer } from '../docker/resolve.js';
import { ApiStatusError, CliError, UsageError } from '../errors.js';
import { formatRows, type Column } from '../output/table.js';
import { forEachName } from '../docker/each-name.js';
import { inspectObjects } from './inspect.js';
import { started } from './run.js';

export interface NetworkOptions {
  readonly namespace?: string;
  readonly driver?: string;
  readonly subnet?: string;
  readonly gateway?: string;
  readonly ipRange?: string;
  readonly internal?: boolean;
  readonly label?: readonly string[];
  readonly quiet?: boolean;
  readonly format?: string;
}

const client = async (o: NetworkOptions) => new ApiClient(await connectToApi(o.namespace));

export async function networkCreate(
  name: string,
  options: NetworkOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const problems = isDNS1123Label(name);
  if (problems.length > 0) throw new UsageError(`invalid network name "${name}": ${problems.join('; ')}`);
  if (options.driver !== undefined && options.driver !== 'bridge')
    throw new UsageError(`network driver "${options.driver}" is not supported: berth has "bridge"`);
  const labels = parseLabels(options.label ?? []);
  const c = await client(options);
  try {
    await c.create<Network>('networks', {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Network',
      metadata: { name, ...(Object.keys(labels).length > 0 ? { labels } : {}) },
      spec: {
        driver: 'bridge',
        // Without --subnet the network controller allocates one from its pool.
        ...(options.subnet !== undefined ? { subnet: options.subnet } : {}),
        ...(options.gateway !== undefined ? { gateway: options.gateway } : {}),
        ...(options.ipRange !== undefined ? { ipRange: options.ipRange } : {}),
        ...(options.internal === true ? { internal: true } : {}),
      },
    });
  } catch (e) {
    if (ApiStatusError.isInstance(e) && e.reason === 'AlreadyExists')
      throw new CliError('BERTH_CLI_API', `network with name ${name} already exists`, { cause: e });
    throw e;
  }
  out.write(`${name}\n`);
}

const networkColumns: Column<Network>[] = [
  { header: 'NETWORK ID', field: 'ID', value: shortId },
  { header: 'NAME', field: 'Name', value: (n) => n.metadata.name ?? '' },
  { header: 'DRIVER', field: 'Driver', value: (n) => n.spec?.driver ?? 'bridge' },
  { header: 'SCOPE', field: 'Scope', value: () => 'local' },
  { header: 'SUBNET', field: 'Subnet', value: (n) => n.status?.subnet ?? n.spec?.subnet ?? '' },
  { header: 'INTERNAL', field: 'Internal', value: (n) => String(n.spec?.internal ?? false) },
  { header: 'CREATED AT', field: 'CreatedAt', value: (n) => n.metadata.creationTimestamp ?? '' },
];

export async function networkLs(options: NetworkOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const networks = (await (await client(options)).list<Network>('networks')).sort((a, b) =>
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
  if (options.quiet === true) {
    out.write(networks.map((n) => `${shortId(n)}\n`).join(''));
    return;
  }
  const json = (n: Network) => Object.fromEntries(networkColumns.map((c) => [c.field, c.value(n)]));
  out.write(
    formatRows(
      networks,
      options.format === undefined ? networkColumns.slice(0, 4) : networkColumns,
      options.format,
      json,
    ),
  );
}

export async function networkRm(
  names: readonly string[],
  options: NetworkOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const c = await client(options);
  await forEachName(names, async (name) => {
    if ((await c.find<Network>('networks', name)) === undefined)
      throw new CliError('BERTH_CLI_API', `network ${name} not found`);
    await c.delete('networks', name);
    await waitFor<Network, true>(c, 'networks', name, (x) => (x === undefined ? true : undefined), 60_000);
    out.write(`${name}\n`);
  });
}

export async function networkInspect(
  names: readonly string[],
  options: NetworkOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const c = await client(options);
  const lookup = async (name: string) => {
    const n = await c.find<Network>('networks', name);
    if (n === undefined) throw new CliError('BERTH_CLI_API', `network ${name} not found`);
    return n;
  };
  await inspectObjects(names, lookup, options.format, out);
}

/**
 * `network connect|disconnect NETWORK CONTAINER`: edits the Container's spec.networks. A Container's interfaces are
 * made when it starts, so a running one is stopped and started again to take the change (its writable layer kept:
 * networks are no part of what the container is made from), and says so, as podman does for rootless containers.
 */
export async function networkAttach(
  verb: 'connect' | 'disconnect',
  network: string,
  ref: string,
  options: NetworkOptions & { readonly alias?: readonly string[]; readonly ip?: string },
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process,
): Promise<void> {
  const c = await client(options);
  if ((await c.find<Network>('networks', network)) === undefined)
    throw new CliError('BERTH_CLI_API', `network ${network} not found`);
  const container = await resolveContainer(c, ref);
  const name = container.metadata.name ?? '';
  const current = container.spec.networks ?? [];
  const attached = current.some((n) => n.name === network);
  if (verb === 'connect' && attached)
    throw new CliError('BERTH_CLI_API', `container ${name} is already connected to network ${network}`);
  if (verb === 'disconnect' && !attached)
    throw new CliError('BERTH_CLI_API', `container ${name} is not connected to network ${network}`);
  if (verb === 'connect' && (container.spec.networkMode ?? 'bridge') !== 'bridge')
    throw new CliError(
      'BERTH_CLI_API',
      `container ${name} uses network mode ${container.spec.networkMode}: it cannot join a network`,
    );
  const networks =
    verb === 'connect'
      ? [
          ...current,
          {
            name: network,
            ...(options.alias !== undefined && options.alias.length > 0 ? { aliases: [...options.alias] } : {}),
            ...(options.ip !== undefined ? { ip: options.ip } : {}),
          },
        ]
      : current.filter((n) => n.name !== network);
  if (!isRunning(container)) {
    // Held stopped, so the edit waits for `berth start` instead of starting an exited container.
    await c.patch<Container>('containers', name, { spec: { networks, stopped: true } });
    return;
  }
  if (container.spec.autoRemove === true)
    throw new CliError('BERTH_CLI_API', `container ${name} runs with --rm: restarting it to ${verb} would remove it`);
  io.stderr.write(
    `berth: container ${name} is restarted to ${verb === 'connect' ? 'attach it to' : 'detach it from'} network ${network} (its interfaces are made at start; its files are kept)\n`,
  );
  if (verb === 'connect' && current.length === 0)
    io.stderr.write(`berth: ${name} leaves the default network: a Container is on it only while it names no Network\n`);
  await c.patch<Container>('containers', name, { spec: { stopped: true } });
  await waitFor<Container, true>(c, 'containers', name, (x) => (exitOutcome(x, name) !== undefined ? true : undefined));
  await c.patch<Container>('containers', name, { spec: { networks, stopped: null } });
  await started(c, name, io.stderr);
}
