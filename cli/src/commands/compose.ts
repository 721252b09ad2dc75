// `berth compose up|down|ps|logs|restart|pull|config|convert`: a Compose file's project as berth objects. `up`
// server-side applies them (so a second `up` changes nothing) and deletes the project's objects the file no longer
// has; `down` deletes what carries the project's label, volumes only with -v; `ps`, `logs` and `restart` act on the
// project's Containers; `pull` records its images as Image objects; `config` prints the normalized model and
// `convert` the objects `up` would apply, as YAML for `kubectl apply -f -`.

import type { Container, Network, Volume } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient, type ApiObject, type BerthPlural } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { watchList } from '../api/watch-list.js';
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
import { collected, mergeByTime, prefixedLines } from '../output/prefixed-lines.js';
import { normalizedModel } from '../compose/normalize.js';
import { pull } from './images.js';
import { restart } from './start-stop.js';
import { stringify } from 'yaml';
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
      return logs(
        name,
        { ...(options.namespace !== undefined ? { namespace: options.namespace } : {}), follow: true },
        prefixedLines(out, `${name.padEnd(width)}  | `),
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

/** The project's Containers, of the named services only when some are named; by name. */
async function projectContainers(
  client: ApiClient,
  project: ComposeProject,
  services: readonly string[],
): Promise<Container[]> {
  for (const s of services)
    if (!project.containers.some((c) => c.metadata.labels?.[serviceLabel] === s))
      throw new CliError('BERTH_CLI_USAGE', `no such service: ${s}`, { exitCode: 1 });
  return (await client.list<Container>('containers', selector(project.name)))
    .filter((c) => services.length === 0 || services.includes(c.metadata.labels?.[serviceLabel] ?? ''))
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}

export interface ComposeLogsOptions extends ComposeOptions {
  readonly follow?: boolean;
  readonly tail?: string;
  readonly timestamps?: boolean;
  /** docker compose's --no-log-prefix. */
  readonly logPrefix?: boolean;
  readonly signal?: AbortSignal;
}

/** The services' logs behind `NAME  | `: read whole and merged in time order, or followed with -f. */
export async function composeLogs(
  services: readonly string[],
  options: ComposeLogsOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const { client, project } = await load(options);
  const containers = await projectContainers(client, project, services);
  if (options.follow === true) return followProject(client, project, services, options, out);
  const width = Math.max(0, ...containers.map((c) => (c.metadata.name ?? '').length));
  const prefix = (c: Container) => (options.logPrefix === false ? '' : `${(c.metadata.name ?? '').padEnd(width)}  | `);
  const base = {
    namespace: client.namespace,
    timestamps: true,
    ...(options.tail !== undefined ? { tail: options.tail } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  };
  const read = await Promise.all(
    containers.map(async (c) => {
      const sink = collected();
      await logs(c.metadata.name ?? '', base, sink.stream);
      return { prefix: prefix(c), text: sink.text() };
    }),
  );
  out.write(mergeByTime(read, options.timestamps === true));
}

/**
 * compose logs -f: a watch of the project's Containers, each followed once it has started (one started after the
 * follow began too) and again after a restart, from the new run on; until Ctrl-C, as docker service logs -f.
 */
async function followProject(
  client: ApiClient,
  project: ComposeProject,
  services: readonly string[],
  options: ComposeLogsOptions,
  out: NodeJS.WritableStream,
): Promise<void> {
  const signal = options.signal ?? new AbortController().signal;
  // The names the file gives, so a container that comes later lines up with the others.
  const names = project.containers
    .filter((c) => services.length === 0 || services.includes(c.metadata.labels?.[serviceLabel] ?? ''))
    .map((c) => c.metadata.name ?? '');
  let width = Math.max(0, ...names.map((n) => n.length));
  /** Per container: the run followed last (its startedAt) and the stream of it, done or not. */
  const followed = new Map<string, { run: string; done: Promise<void> }>();
  const follow = (c: Container) => {
    const name = c.metadata.name ?? '';
    const run = c.status?.startedAt;
    const service = c.metadata.labels?.[serviceLabel] ?? '';
    if (run === undefined || (services.length > 0 && !services.includes(service))) return;
    const previous = followed.get(name);
    if (previous?.run === run) return;
    width = Math.max(width, name.length);
    const sink = prefixedLines(out, options.logPrefix === false ? '' : `${name.padEnd(width)}  | `);
    const from = {
      namespace: client.namespace,
      follow: true,
      signal,
      ...(options.timestamps === true ? { timestamps: true } : {}),
      // The first run as asked (--tail); a later run from its start, not the earlier run's lines again.
      ...(previous === undefined
        ? options.tail !== undefined
          ? { tail: options.tail }
          : {}
        : { since: `${Math.ceil((Date.now() - Date.parse(run)) / 1000) + 1}s` }),
    };
    const done = (previous?.done ?? Promise.resolve())
      .then(() => logs(name, from, sink))
      // A container removed while followed just ends its stream.
      .catch(() => undefined)
      .finally(() => sink.end());
    followed.set(name, { run, done });
  };
  await watchList<Container>(
    client,
    'containers',
    selector(project.name),
    (type, c) => {
      if (type !== 'DELETED') follow(c);
    },
    signal,
  );
  await Promise.all([...followed.values()].map((f) => f.done));
}

/** docker compose restart: each of the project's (or the named services') Containers stopped and started again. */
export async function composeRestart(
  services: readonly string[],
  options: ComposeOptions & { readonly timeout?: string },
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const { client, project } = await load(options);
  const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
  for (const c of await projectContainers(client, project, services)) {
    const name = c.metadata.name ?? '';
    out.write(` Container ${name}  Restarting\n`);
    await restart(
      [name],
      { namespace: client.namespace, ...(options.timeout !== undefined ? { time: options.timeout } : {}) },
      { stdin: process.stdin, stdout: quiet, stderr: err },
    );
    out.write(` Container ${name}  Started\n`);
  }
}

/** docker compose pull: each service's image recorded as an Image object and reported once a node has it. */
export async function composePull(
  services: readonly string[],
  options: ComposeOptions & { readonly quiet?: boolean },
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const { client, project } = await load(options);
  const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
  const images = new Map<string, string>();
  for (const c of project.containers) {
    const service = c.metadata.labels?.[serviceLabel] ?? '';
    if (services.length === 0 || services.includes(service)) images.set(service, c.spec.image);
  }
  for (const [service, image] of images) {
    if (options.quiet !== true) out.write(` Service ${service}  Pulling\n`);
    await pull(image, { namespace: client.namespace, quiet: true }, quiet, err);
    if (options.quiet !== true) out.write(` Service ${service}  Pulled\n`);
  }
}

/** docker compose config: the normalized model (YAML, or JSON with --format json); --services lists the names. */
export async function composeConfig(
  options: ComposeOptions & {
    readonly format?: string;
    readonly services?: boolean;
    readonly volumes?: boolean;
    readonly quiet?: boolean;
  },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const { path, text } = await findComposeFile(options.file, options.cwd ?? process.cwd());
  // The objects too: what berth cannot run is refused here as `up` would refuse it.
  await composeProject(text, path, options.projectName);
  const model = await normalizedModel(text, path, options.projectName);
  if (options.quiet === true) return;
  if (options.services === true) {
    out.write(
      Object.keys(model['services'] as object)
        .map((s) => `${s}\n`)
        .join(''),
    );
    return;
  }
  if (options.volumes === true) {
    out.write(
      Object.keys((model['volumes'] ?? {}) as object)
        .map((v) => `${v}\n`)
        .join(''),
    );
    return;
  }
  if (options.format !== undefined && options.format !== 'yaml' && options.format !== 'json')
    throw new CliError('BERTH_CLI_USAGE', `unsupported --format "${options.format}": want yaml or json`, {
      exitCode: 1,
    });
  out.write(
    options.format === 'json'
      ? `${JSON.stringify(model, null, 2)}\n`
      : stringify(model, { aliasDuplicateObjects: false }),
  );
}

/** The objects `up` applies (Networks, Volumes, ConfigMaps, Secrets, Containers), as a YAML stream for kubectl. */
export async function composeConvert(
  options: ComposeOptions & { readonly format?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const { path, text } = await findComposeFile(options.file, options.cwd ?? process.cwd());
  const project = await composeProject(text, path, options.projectName);
  const objects = [
    ...project.networks,
    ...project.volumes,
    ...project.configMaps,
    ...project.secrets,
    ...project.containers,
  ];
  if (options.format === 'json') {
    out.write(`${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`);
    return;
  }
  // Replicas share one spec object: written out each time, not as YAML aliases.
  out.write(objects.map((o) => stringify(o, { aliasDuplicateObjects: false })).join('---\n'));
}
