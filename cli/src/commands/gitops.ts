// `berth gitops create|get|reconcile|suspend|resume`: GitRepository and Sync objects as `flux create`, `flux get`
// and `flux reconcile` make, show and drive them. A reconcile is the reconcile.berth.dev/requestedAt annotation the gitops controller answers
// in status.lastHandledReconcileAt; suspend and resume are spec.suspend.

import type { Condition, GitRepository, Sync } from '@berth/api';
import { reconcileRequestedAtAnnotation as requestedAtAnnotation } from '@berth/api/helpers';
import { connectToApi } from '../api-connection.js';
import { ApiClient, type BerthPlural } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { CliError, UsageError } from '../errors.js';
import { formatRows, type Column } from '../output/table.js';

type GitOpsObject = (GitRepository | Sync) & { metadata: { name?: string; annotations?: Record<string, string> } };

const kinds: Record<string, { plural: BerthPlural; kind: string }> = {
  source: { plural: 'gitrepositories', kind: 'GitRepository' },
  sources: { plural: 'gitrepositories', kind: 'GitRepository' },
  sync: { plural: 'syncs', kind: 'Sync' },
  syncs: { plural: 'syncs', kind: 'Sync' },
};

function kindOf(word: string): { plural: BerthPlural; kind: string } {
  const k = kinds[word];
  if (k === undefined) throw new UsageError(`"${word}" is not a gitops kind: want source or sync`);
  return k;
}

const condition = (o: GitOpsObject, type: string): Condition | undefined =>
  (o.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);

const revisionOf = (o: GitOpsObject): string =>
  'artifact' in (o.status ?? {})
    ? ((o as GitRepository).status?.artifact?.revision ?? '')
    : ((o as Sync).status?.lastAppliedRevision ?? '');

const columns: Column<GitOpsObject>[] = [
  { header: 'NAME', field: 'Name', value: (o) => o.metadata.name ?? '' },
  { header: 'REVISION', field: 'Revision', value: revisionOf },
  { header: 'SUSPENDED', field: 'Suspended', value: (o) => String(o.spec?.suspend === true) },
  { header: 'READY', field: 'Ready', value: (o) => condition(o, 'Ready')?.status ?? 'Unknown' },
  { header: 'HEALTH', field: 'Health', value: (o) => condition(o, 'Healthy')?.status ?? '' },
  { header: 'MESSAGE', field: 'Message', value: (o) => condition(o, 'Ready')?.message ?? '' },
];

const client = async (namespace: string | undefined) => new ApiClient(await connectToApi(namespace));

/** Sources and Syncs (or one kind) as tables, flux get's columns (HEALTH for Syncs). */
export async function gitopsGet(
  word: string | undefined,
  options: { readonly namespace?: string; readonly format?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const c = await client(options.namespace);
  const words = word === undefined ? ['sources', 'syncs'] : [word];
  const json = (o: GitOpsObject) => ({
    Kind: o.kind,
    ...Object.fromEntries(columns.map((col) => [col.field, col.value(o)])),
  });
  for (const [i, w] of words.entries()) {
    const { plural, kind } = kindOf(w);
    const rows = (await c.list<GitOpsObject>(plural)).sort((a, b) =>
      (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
    );
    const shown = plural === 'syncs' ? columns : columns.filter((col) => col.field !== 'Health');
    if (options.format === undefined && words.length > 1) out.write(`${i > 0 ? '\n' : ''}${kind}s:\n`);
    out.write(formatRows(rows, shown, options.format, json));
  }
}

export interface SourceFlags {
  readonly url: string;
  readonly branch?: string;
  readonly tag?: string;
  readonly semver?: string;
  readonly commit?: string;
  readonly interval: string;
  readonly secretRef?: string;
  readonly ignore?: string;
}

export interface SyncFlags {
  readonly source: string;
  readonly path: string;
  readonly interval: string;
  readonly prune?: boolean;
  readonly wait?: boolean;
  readonly force?: boolean;
  readonly targetNamespace?: string;
  readonly dependsOn?: string[];
}

/** The field manager of what `berth gitops create` writes, so a second create updates the same fields. */
const createManager = 'berth-gitops-create';

/** Creates or updates a GitRepository (server-side apply: the API server validates the spec). */
export async function gitopsCreateSource(
  name: string,
  options: SourceFlags & { readonly namespace?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const refs = (['tag', 'semver', 'commit'] as const).filter((k) => options[k] !== undefined);
  if (refs.length + (options.branch !== undefined ? 1 : 0) > 1)
    throw new UsageError('give one of --branch, --tag, --semver and --commit');
  const ref = refs[0] !== undefined ? { [refs[0]]: options[refs[0]] } : { branch: options.branch ?? 'main' };
  const c = await client(options.namespace);
  await c.apply<GitOpsObject>(
    'gitrepositories',
    {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'GitRepository',
      metadata: { name },
      spec: {
        url: options.url,
        ref,
        interval: options.interval,
        ...(options.secretRef !== undefined ? { secretRef: { name: options.secretRef } } : {}),
        ...(options.ignore !== undefined ? { ignore: options.ignore } : {}),
      },
    } as GitOpsObject,
    createManager,
  );
  out.write(`GitRepository ${name}: applied\n`);
}

/** Creates or updates a Sync of a source's path. */
export async function gitopsCreateSync(
  name: string,
  options: SyncFlags & { readonly namespace?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const c = await client(options.namespace);
  await c.apply<GitOpsObject>(
    'syncs',
    {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Sync',
      metadata: { name },
      spec: {
        sourceRef: { kind: 'GitRepository', name: options.source },
        path: options.path,
        interval: options.interval,
        prune: options.prune === true,
        wait: options.wait === true,
        force: options.force === true,
        ...(options.targetNamespace !== undefined ? { targetNamespace: options.targetNamespace } : {}),
        ...(options.dependsOn !== undefined ? { dependsOn: options.dependsOn.map((d) => ({ name: d })) } : {}),
      },
    } as GitOpsObject,
    createManager,
  );
  out.write(`Sync ${name}: applied\n`);
}

async function mustFind(c: ApiClient, plural: BerthPlural, kind: string, name: string): Promise<GitOpsObject> {
  const o = await c.find<GitOpsObject>(plural, name);
  if (o === undefined) throw new CliError('BERTH_CLI_API', `${kind} ${c.namespace}/${name} not found`);
  return o;
}

/** Asks for a reconcile now and, unless `wait` is false, waits for the controller to have handled it. */
export async function gitopsReconcile(
  word: string,
  name: string,
  options: { readonly namespace?: string; readonly wait?: boolean; readonly timeout?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const { plural, kind } = kindOf(word);
  const c = await client(options.namespace);
  const before = await mustFind(c, plural, kind, name);
  if (before.spec?.suspend === true)
    throw new CliError('BERTH_CLI_API', `${kind} ${name} is suspended: resume it first`);
  const at = new Date().toISOString();
  await c.patch(plural, name, { metadata: { annotations: { [requestedAtAnnotation]: at } } });
  out.write(`${kind} ${name}: reconcile requested\n`);
  if (options.wait === false) return;
  const seconds = Number(options.timeout ?? '60');
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError(`invalid --timeout "${options.timeout ?? ''}": want seconds`);
  const done = await waitFor<GitOpsObject, GitOpsObject>(
    c,
    plural,
    name,
    (o) => {
      if (o === undefined) throw new CliError('BERTH_CLI_API', `${kind} ${name} was deleted`);
      return o.status?.lastHandledReconcileAt === at ? o : undefined;
    },
    seconds * 1000,
  );
  const ready = condition(done, 'Ready');
  out.write(
    `${kind} ${name}: ${ready?.status === 'True' ? 'ready' : 'not ready'} at revision ${revisionOf(done) || '(none)'}${ready?.message !== undefined ? `: ${ready.message}` : ''}\n`,
  );
  if (ready?.status === 'False')
    throw new CliError('BERTH_CLI_API', `${kind} ${name} is not ready: ${ready.message ?? ready.reason ?? ''}`);
}

/** spec.suspend on (suspend) or off (resume, which also asks for a reconcile, as flux resume does). */
export async function gitopsSuspend(
  word: string,
  names: readonly string[],
  suspend: boolean,
  options: { readonly namespace?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const { plural, kind } = kindOf(word);
  const c = await client(options.namespace);
  for (const name of names) {
    await mustFind(c, plural, kind, name);
    await c.patch(plural, name, {
      spec: { suspend: suspend ? true : null },
      ...(suspend ? {} : { metadata: { annotations: { [requestedAtAnnotation]: new Date().toISOString() } } }),
    });
    out.write(`${kind} ${name}: ${suspend ? 'suspended' : 'resumed'}\n`);
  }
}
