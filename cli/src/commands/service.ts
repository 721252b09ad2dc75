// `berth service create|ls|ps|scale|update|rollback|rm|history`: docker service's commands on berth's Service kind.
// Every command is a read or a write of Service objects; the service controller does the rest (replicas, rolling
// updates, revisions kept as ConfigMaps labelled berth.dev/service, rollback by the annotation it acts on).

import type { Service } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient, berthPath } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { shortId } from '../docker/container-state.js';
import { forEachName } from '../docker/each-name.js';
import { ApiStatusError, CliError, UsageError } from '../errors.js';
import { formatRows, renderTable, type Column } from '../output/table.js';
import { waitConverged } from '../service/converge.js';
import {
  parseScale,
  serviceFromFlags,
  updatePatch,
  type ServiceCreateFlags,
  type ServiceUpdateFlags,
} from '../service/service-flags.js';
import { currentState, desiredState, serviceTasks, taskError } from '../service/tasks.js';

/** The service controller's names (controllers/src/service/labels.ts); the CLI reaches no package's internals. */
const serviceLabel = 'berth.dev/service';
const revisionAnnotation = 'berth.dev/revision';
const templateHashLabel = 'berth.dev/template-hash';
const rollbackAnnotation = 'berth.dev/rollback-to';
/** Where the controller says why it refused a rollback, written as it removes berth.dev/rollback-to. */
const rollbackRefusedAnnotation = 'berth.dev/rollback-refused';

export interface ServiceOptions {
  readonly namespace?: string;
  /** Return once the Service is written, without waiting for the rollout (docker's -d). */
  readonly detach?: boolean;
  readonly quiet?: boolean;
}

const client = async (options: { namespace?: string }) => new ApiClient(await connectToApi(options.namespace));

/** Progress goes nowhere with -q. */
const progressOut = (options: ServiceOptions, out: NodeJS.WritableStream): NodeJS.WritableStream =>
  options.quiet === true ? ({ write: () => true } as unknown as NodeJS.WritableStream) : out;

export async function serviceCreate(
  image: string,
  command: readonly string[],
  flags: ServiceCreateFlags & ServiceOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const service = await serviceFromFlags(flags, image, command);
  const api = await client(flags);
  const made = await api.create<Service>('services', service);
  out.write(`${made.metadata.name ?? ''}\n`);
  if (flags.detach !== true)
    await waitConverged(api, made.metadata.name ?? '', made.metadata.generation ?? 1, progressOut(flags, out));
}

/** docker service ls' PORTS: `*:8080->80/tcp`, or the address it is published on. */
export function servicePorts(s: Service): string {
  return (s.spec.ports ?? [])
    .map((p) => {
      const host = p.hostIP === undefined || p.hostIP === '0.0.0.0' ? '*' : p.hostIP;
      return `${host}:${p.port}->${p.targetPort ?? p.port}/${(p.protocol ?? 'TCP').toLowerCase()}`;
    })
    .join(', ');
}

const lsColumns: Column<Service>[] = [
  { header: 'ID', field: 'ID', value: shortId },
  { header: 'NAME', field: 'Name', value: (s) => s.metadata.name ?? '' },
  { header: 'MODE', field: 'Mode', value: () => 'replicated' },
  {
    header: 'REPLICAS',
    field: 'Replicas',
    value: (s) => `${s.status?.readyReplicas ?? 0}/${s.spec.replicas ?? 1}`,
  },
  { header: 'IMAGE', field: 'Image', value: (s) => s.spec.template.spec.image },
  { header: 'PORTS', field: 'Ports', value: servicePorts },
];

export async function serviceLs(
  options: { namespace?: string; quiet?: boolean; format?: string; filter?: readonly string[] },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const filters = (options.filter ?? []).map((f) => {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    if (!['name', 'id', 'label'].includes(key)) throw new UsageError(`invalid filter '${key}'`);
    return { key, value: eq < 0 ? '' : f.slice(eq + 1) };
  });
  const matches = (s: Service) =>
    filters.every(({ key, value }) => {
      if (key === 'name') return (s.metadata.name ?? '').startsWith(value);
      if (key === 'id') return shortId(s).startsWith(value);
      const [k, v] = value.split('=', 2) as [string, string | undefined];
      const labels = s.metadata.labels ?? {};
      return v === undefined ? k in labels : labels[k] === v;
    });
  const rows = (await (await client(options)).list<Service>('services'))
    .filter(matches)
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  if (options.quiet === true) {
    out.write(rows.map((s) => `${shortId(s)}\n`).join(''));
    return;
  }
  const json = (s: Service) => Object.fromEntries(lsColumns.map((c) => [c.field, c.value(s)]));
  out.write(formatRows(rows, lsColumns, options.format, json));
}

export async function servicePs(
  names: readonly string[],
  options: { namespace?: string; quiet?: boolean; noTrunc?: boolean; filter?: readonly string[] },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const api = await client(options);
  const wanted = (options.filter ?? []).map((f) => {
    const m = /^desired-state=(running|shutdown|accepted)$/.exec(f);
    if (m === null) throw new UsageError(`invalid filter '${f}' (berth takes desired-state=running|shutdown)`);
    return m[1] === 'accepted' ? 'running' : m[1]!;
  });
  const rows: string[][] = [];
  for (const name of names) {
    const service = await api.get<Service>('services', name);
    for (const task of await serviceTasks(api, service)) {
      const c = task.container;
      if (wanted.length > 0 && !wanted.includes(desiredState(c).toLowerCase())) continue;
      const id = options.noTrunc === true ? (c.metadata.uid ?? '').replace(/-/g, '') : shortId(c);
      if (options.quiet === true) {
        rows.push([id]);
        continue;
      }
      const ports = (c.spec.ports ?? [])
        .filter((p) => p.hostPort !== undefined)
        .map((p) => `*:${p.hostPort}->${p.containerPort}/${(p.protocol ?? 'TCP').toLowerCase()}`)
        .join(', ');
      rows.push([id, task.name, c.spec.image, task.node, desiredState(c), currentState(c), taskError(c), ports]);
    }
  }
  if (options.quiet === true) out.write(rows.map((r) => `${r[0]}\n`).join(''));
  else
    out.write(renderTable(['ID', 'NAME', 'IMAGE', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR', 'PORTS'], rows));
}

export async function serviceScale(
  specs: readonly string[],
  options: ServiceOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const scales = specs.map(parseScale);
  const api = await client(options);
  await forEachName(
    scales.map((s) => s.name),
    async (name) => {
      const { replicas } = scales.find((s) => s.name === name)!;
      const written = await api.patch<Service>('services', name, { spec: { replicas } });
      out.write(`${name} scaled to ${replicas}\n`);
      if (options.detach !== true)
        await waitConverged(api, name, written.metadata.generation ?? 0, progressOut(options, out));
    },
  );
}

export async function serviceUpdate(
  name: string,
  flags: ServiceUpdateFlags & ServiceOptions & { rollback?: boolean },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  if (flags.rollback === true) {
    await serviceRollback(name, flags, out);
    return;
  }
  const api = await client(flags);
  const path = berthPath('services', api.namespace, name);
  // A conflict (someone else wrote in between) is read again and redone, as kubectl's edits are.
  let written: Service | undefined;
  for (let attempt = 0; written === undefined; attempt++) {
    const current = await api.get<Service>('services', name);
    try {
      written = await api.request<Service>('PATCH', path, updatePatch(current, flags), 'application/merge-patch+json');
    } catch (e) {
      if (attempt >= 4 || !ApiStatusError.isInstance(e) || e.status !== 409) throw e;
    }
  }
  out.write(`${name}\n`);
  if (flags.detach !== true) await waitConverged(api, name, written.metadata.generation ?? 0, progressOut(flags, out));
}

export async function serviceRm(
  names: readonly string[],
  options: { namespace?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const api = await client(options);
  await forEachName(names, async (name) => {
    await api.delete('services', name);
    out.write(`${name}\n`);
  });
}

interface Meta {
  metadata: {
    name?: string;
    uid?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string; controller?: boolean }[];
  };
}

/** Prints REVISION, HASH, CREATED, CURRENT for each revision the Service keeps. */
export async function serviceHistory(
  name: string,
  options: { namespace?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const api = await client(options);
  const svc = await api.get<Service>('services', name);
  const selector = encodeURIComponent(`${serviceLabel}=${name}`);
  const list = await api.request<{ items: Meta[] }>(
    'GET',
    `/api/v1/namespaces/${encodeURIComponent(api.namespace)}/configmaps?labelSelector=${selector}`,
  );
  const current = svc.metadata.annotations?.[revisionAnnotation];
  const rows = list.items
    .filter((cm) => cm.metadata.ownerReferences?.some((r) => r.uid === svc.metadata.uid && r.controller === true))
    .map((cm) => ({
      revision: cm.metadata.annotations?.[revisionAnnotation] ?? '?',
      hash: cm.metadata.labels?.[templateHashLabel] ?? '',
      created: cm.metadata.creationTimestamp ?? '',
    }))
    .sort((a, b) => Number(a.revision) - Number(b.revision));
  out.write(`${['REVISION', 'TEMPLATE-HASH', 'CREATED', 'CURRENT'].join('\t')}\n`);
  for (const r of rows) out.write(`${[r.revision, r.hash, r.created, r.revision === current ? '*' : ''].join('\t')}\n`);
}

/**
 * Asks the service controller to roll back to `toRevision` (0: the previous one), says so, then (unless -d) waits
 * for the controller to take the request and the rollout to converge; a rollback it refused fails with its reason.
 */
export async function serviceRollback(
  name: string,
  options: ServiceOptions & { toRevision?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const to = options.toRevision ?? '0';
  if (!/^\d+$/.test(to))
    throw new CliError('BERTH_CLI_USAGE', `--to-revision: "${to}" must be a revision number (0 for the previous one)`);
  const api = await client(options);
  // An earlier refusal goes with the request: once berth.dev/rollback-to is gone, a refusal there is this one's.
  await api.patch<Service>('services', name, {
    metadata: { annotations: { [rollbackAnnotation]: to, [rollbackRefusedAnnotation]: null } },
  });
  out.write(
    `service.berth.dev/${name} rollback to ${to === '0' ? 'the previous revision' : `revision ${to}`} requested\n`,
  );
  if (options.detach === true) return;
  const progress = progressOut(options, out);
  progress.write('rollback: manually requested rollback\n');
  const taken = await waitFor<Service, Service>(
    api,
    'services',
    name,
    (s) => {
      if (s === undefined) throw new CliError('BERTH_CLI_API', `service ${name} was removed during the rollback`);
      return s.metadata.annotations?.[rollbackAnnotation] === undefined ? s : undefined;
    },
    2 * 60_000,
  );
  const refused = taken.metadata.annotations?.[rollbackRefusedAnnotation];
  if (refused !== undefined) throw new CliError('BERTH_CLI_API', `service ${name}: Rollback not done: ${refused}`);
  await waitConverged(api, name, taken.metadata.generation ?? 0, progress, { what: 'rolling back update: ' });
}
