// `berth compose up|down|ps`: a Compose file's project as berth objects. `up` server-side applies them (so a second
// `up` changes nothing) and deletes the project's objects the file no longer has; `down` deletes what carries the
// project's label, volumes only with -v; `ps` lists the project's Containers.

import { Writable } from 'node:stream';
import type { Container, Network, Volume } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient, type ApiObject, type BerthPlural } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import {
  composeProject,
  findComposeFile,
  projectLabel,
  serviceLabel,
  type ComposeProject,
} from '../compose/compose-file.js';
import { exitOutcome, humanDuration, statusText } from '../docker/container-state.js';
import { CliError } from '../errors.js';
import { ago, renderTable } from '../output/table.js';
import { portsText } from './ps.js';
import { logs } from './logs.js';
import { started } from './run.js';

export interface ComposeOptions {
  readonly namespace?: string;
  readonly file?: string;
  readonly projectName?: string;
  /** Where the Compose file is looked for. @default process.cwd() */
  readonly cwd?: string;
}

const fieldManager = 'berth-compose';

async function load(options: ComposeOptions): Promise<{ client: ApiClient; project: ComposeProject }> {
  const { path, text } = await findComposeFile(options.file, options.cwd ?? process.cwd());
  const project = await composeProject(text, path, options.projectName);
  return { client: new ApiClient(await connectToApi(options.namespace)), project };
}

const selector = (project: string) => `${projectLabel}=${project}`;

/** Deletes each and waits until it is gone (finalizers done). */
async function removeAll(
  client: ApiClient,
  plural: BerthPlural,
  objects: readonly ApiObject[],
  what: string,
  out: NodeJS.WritableStream,
): Promise<void> {
  await Promise.all(
    objects.map(async (o) => {
      const name = o.metadata.name ?? '';
      await client.delete(plural, name).catch(() => undefined);
      await waitFor<ApiObject, true>(client, plural, name, (x) => (x === undefined ? true : undefined), 120_000);
      out.write(` ${what} ${name}  Removed\n`);
    }),
  );
}

export interface UpOptions extends ComposeOptions {
  readonly detach?: boolean;
}

export async function composeUp(
  options: UpOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const { client, project } = await load(options);
  const sel = selector(project.name);
  for (const n of project.networks) {
    const existed = (await client.find<Network>('networks', n.metadata.name ?? '')) !== undefined;
    await client.apply<Network>('networks', n, fieldManager);
    out.write(` Network ${n.metadata.name ?? ''}  ${existed ? 'Running' : 'Created'}\n`);
  }
  for (const v of project.volumes) {
    const existed = (await client.find<Volume>('volumes', v.metadata.name ?? '')) !== undefined;
    await client.apply<Volume>('volumes', v, fieldManager);
    out.write(` Volume ${v.metadata.name ?? ''}  ${existed ? 'Running' : 'Created'}\n`);
  }
  for (const [plural, objects] of [
    ['configmaps', project.configMaps],
    ['secrets', project.secrets],
  ] as const) {
    for (const o of objects) await client.applyCore(plural, o, fieldManager);
    // The file's configs and secrets only: one it no longer has goes.
    for (const old of await client.listCore(plural, sel))
      if (!objects.some((o) => o.metadata.name === old.metadata.name))
        await client.deleteCore(plural, old.metadata.name ?? '');
  }
  const wanted = new Set(project.containers.map((c) => c.metadata.name ?? ''));
  // Containers the file no longer has (a service removed, replicas scaled down) go before new ones start.
  const stale = (await client.list<Container>('containers', sel)).filter((c) => !wanted.has(c.metadata.name ?? ''));
  await removeAll(client, 'containers', stale, 'Container', out);
  const met = new Set<string>();
  for (const c of project.containers) {
    // depends_on conditions beyond "started": healthy (its readiness probe, from the healthcheck) or completed.
    for (const [dependency, condition] of project.dependsOn.get(c.metadata.labels?.[serviceLabel] ?? '') ?? []) {
      if (condition === 'service_started' || met.has(dependency)) continue;
      for (const d of project.containers.filter((x) => x.metadata.labels?.[serviceLabel] === dependency))
        await dependencyMet(client, d.metadata.name ?? '', dependency, condition);
      met.add(dependency);
    }
    const before = await client.find<Container>('containers', c.metadata.name ?? '');
    const applied = await client.apply<Container>('containers', c, fieldManager);
    // depends_on: each waits for what it depends on to be running (services come in that order).
    await started(client, applied.metadata.name ?? '', err);
    const unchanged = before !== undefined && before.metadata.generation === applied.metadata.generation;
    out.write(` Container ${applied.metadata.name ?? ''}  ${unchanged ? 'Running' : 'Started'}\n`);
  }
  for (const n of (await client.list<Network>('networks', sel)).filter(
    (x) => !project.networks.some((n) => n.metadata.name === x.metadata.name),
  ))
    await removeAll(client, 'networks', [n], 'Network', out);
  if (options.detach === true) return;
  // Attached: every container's log, prefixed with its name, until they all stop (or Ctrl-C).
  const width = Math.max(...project.containers.map((c) => (c.metadata.name ?? '').length));
  await Promise.all(
    project.containers.map((c) => {
      const name = c.metadata.name ?? '';
      let pending = '';
      const prefixed = new Writable({
        write(chunk: Buffer, _encoding, done) {
          pending += chunk.toString();
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) out.write(`${name.padEnd(width)}  | ${line}\n`);
          done();
        },
      });
      return logs(
        name,
        { ...(options.namespace !== undefined ? { namespace: options.namespace } : {}), follow: true },
        prefixed,
      );
    }),
  );
}

/** Waits until the dependency's container is Ready (healthy) or has exited 0 (completed successfully). */
async function dependencyMet(
  client: ApiClient,
  name: string,
  service: string,
  condition: 'service_healthy' | 'service_completed_successfully',
): Promise<void> {
  await waitFor<Container, true>(client, 'containers', name, (c) => {
    if (condition === 'service_healthy')
      return c?.status?.conditions?.find((x) => x.type === 'Ready')?.status === 'True' ? true : undefined;
    const code = exitOutcome(c, name);
    if (code === undefined) return undefined;
    if (code !== 0)
      throw new CliError('BERTH_CLI_API', `service "${service}" didn't complete successfully: exit ${code}`);
    return true;
  });
}

export interface DownOptions extends ComposeOptions {
  readonly volumes?: boolean;
}

export async function composeDown(options: DownOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const { client, project } = await load(options);
  const sel = selector(project.name);
  await removeAll(client, 'containers', await client.list('containers', sel), 'Container', out);
  await removeAll(client, 'networks', await client.list('networks', sel), 'Network', out);
  for (const plural of ['configmaps', 'secrets'] as const)
    for (const o of await client.listCore(plural, sel)) await client.deleteCore(plural, o.metadata.name ?? '');
  if (options.volumes === true) await removeAll(client, 'volumes', await client.list('volumes', sel), 'Volume', out);
}

export async function composePs(options: ComposeOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const { client, project } = await load(options);
  const containers = (await client.list<Container>('containers', selector(project.name))).sort((a, b) =>
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
  out.write(
    renderTable(
      ['NAME', 'IMAGE', 'SERVICE', 'CREATED', 'STATUS', 'PORTS'],
      containers.map((c) => [
        c.metadata.name ?? '',
        c.spec.image,
        c.metadata.labels?.[serviceLabel] ?? '',
        ago(c.metadata.creationTimestamp, humanDuration),
        statusText(c),
        portsText(c),
      ]),
    ),
  );
}
