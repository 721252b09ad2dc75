// `berth volume create|ls|rm|inspect`: Volume objects, printed as docker volume prints them.

import type { Volume } from '@berth/api';
import { isDNS1123Label } from '@berth/api/helpers';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { parseLabels } from '../docker/run-spec.js';
import { CliError, UsageError } from '../errors.js';
import { formatRows, type Column } from '../output/table.js';
import { forEachName } from '../docker/each-name.js';
import { inspectObjects } from './inspect.js';
import { randomBytes } from 'node:crypto';

export interface VolumeOptions {
  readonly namespace?: string;
  readonly driver?: string;
  readonly label?: readonly string[];
  readonly opt?: readonly string[];
  readonly quiet?: boolean;
  readonly format?: string;
  readonly force?: boolean;
}

const client = async (o: VolumeOptions) => new ApiClient(await connectToApi(o.namespace));

export async function volumeCreate(
  name: string | undefined,
  options: VolumeOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  // docker names an anonymous volume with 64 hex digits; a DNS label allows 63.
  const volumeName = name ?? randomBytes(24).toString('hex');
  const problems = isDNS1123Label(volumeName);
  if (problems.length > 0) throw new UsageError(`invalid volume name "${volumeName}": ${problems.join('; ')}`);
  if (options.driver !== undefined && options.driver !== 'local')
    throw new UsageError(`volume driver "${options.driver}" is not supported: berth has "local"`);
  const labels = parseLabels(options.label ?? []);
  const driverOptions = Object.fromEntries(
    (options.opt ?? []).map((o) => {
      const eq = o.indexOf('=');
      if (eq < 1) throw new UsageError(`invalid -o "${o}": want KEY=VALUE`);
      return [o.slice(0, eq), o.slice(eq + 1)];
    }),
  );
  const c = await client(options);
  // docker volume create of an existing name is no error.
  if ((await c.find<Volume>('volumes', volumeName)) === undefined)
    await c.create<Volume>('volumes', {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Volume',
      metadata: { name: volumeName, ...(Object.keys(labels).length > 0 ? { labels } : {}) },
      spec: { driver: 'local', ...(Object.keys(driverOptions).length > 0 ? { driverOptions } : {}) },
    });
  out.write(`${volumeName}\n`);
}

const volumeColumns: Column<Volume>[] = [
  { header: 'DRIVER', field: 'Driver', value: (v) => v.spec?.driver ?? 'local' },
  { header: 'VOLUME NAME', field: 'Name', value: (v) => v.metadata.name ?? '' },
  { header: 'MOUNTPOINT', field: 'Mountpoint', value: (v) => v.status?.path ?? '' },
  { header: 'SCOPE', field: 'Scope', value: () => 'local' },
  { header: 'STATUS', field: 'Status', value: (v) => v.status?.phase ?? 'Pending' },
];

export async function volumeLs(options: VolumeOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const volumes = (await (await client(options)).list<Volume>('volumes')).sort((a, b) =>
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
  if (options.quiet === true) {
    out.write(volumes.map((v) => `${v.metadata.name ?? ''}\n`).join(''));
    return;
  }
  const json = (v: Volume) => Object.fromEntries(volumeColumns.map((c) => [c.field, c.value(v)]));
  out.write(
    formatRows(volumes, options.format === undefined ? volumeColumns.slice(0, 2) : volumeColumns, options.format, json),
  );
}

export async function volumeRm(
  names: readonly string[],
  options: VolumeOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const c = await client(options);
  await forEachName(names, async (name) => {
    const v = await c.find<Volume>('volumes', name);
    if (v === undefined) throw new CliError('BERTH_CLI_API', `get ${name}: no such volume`);
    const users = v.status?.usedBy ?? [];
    if (users.length > 0 && options.force !== true)
      throw new CliError('BERTH_CLI_API', `remove ${name}: volume is in use - [${users.join(', ')}]`);
    await c.delete('volumes', name);
    // The agent's volume-protection finalizer holds it while a Container mounts it.
    if (users.length === 0)
      await waitFor<Volume, true>(c, 'volumes', name, (x) => (x === undefined ? true : undefined), 60_000);
    out.write(`${name}\n`);
  });
}

export async function volumeInspect(
  names: readonly string[],
  options: VolumeOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const c = await client(options);
  const lookup = async (name: string) => {
    const v = await c.find<Volume>('volumes', name);
    if (v === undefined) throw new CliError('BERTH_CLI_API', `get ${name}: no such volume`);
    return v;
  };
  await inspectObjects(names, lookup, options.format, out);
}
