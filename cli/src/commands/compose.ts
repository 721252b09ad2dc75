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
import { humanDuration, statusText } from '../docker/container-state.js';
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
  const wanted = new Set(project.containers.map((c) => c.metadata.name ?? ''));
  // Containers the file no longer has (a service removed, replicas scaled down) go before new ones start.
  const stale = (await client.list<Container>('containers', sel)).filter((c) => !wanted.has(c.metadata.name ?? ''));
  await removeAll(client, 'containers', stale, 'Container', out);
  for (const c of project.containers) {
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

export interface DownOptions extends ComposeOptions {
  readonly volumes?: boolean;
}

export async function composeDown(options: DownOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const { client, project } = await load(options);
  const sel = selector(project.name);
  await removeAll(client, 'containers', await client.list('containers', sel), 'Container', out);
  await removeAll(client, 'networks', await client.list('networks', sel), 'Network', out);
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
