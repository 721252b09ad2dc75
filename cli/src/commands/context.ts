// `berth context ls|use|create|rm`: docker context's verbs over kubeconfig contexts, so one client reaches many
// berth installations and kubectl follows the same choice. Writes go to the first kubeconfig file, as kubectl's do.

import { readFile, rename, writeFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { CliError, KubeconfigError, UsageError } from '../errors.js';
import { kubeconfigFiles, listContexts } from '../kubeconfig-load.js';
import { formatRows, type Column } from '../output/table.js';
import type { ContextSummary } from '../kubeconfig-load.js';

type Doc = Record<string, unknown> & { contexts?: Array<{ name?: unknown; context?: Record<string, unknown> }> };

const contextColumns: Column<ContextSummary>[] = [
  { header: 'NAME', field: 'Name', value: (c) => `${c.name}${c.current ? ' *' : ''}` },
  { header: 'KUBERNETES ENDPOINT', field: 'KubernetesEndpoint', value: (c) => c.server ?? '' },
  { header: 'NAMESPACE', field: 'Namespace', value: (c) => c.namespace ?? '' },
  { header: 'USER', field: 'User', value: (c) => c.user },
];

export async function contextLs(
  options: { readonly quiet?: boolean; readonly format?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const contexts = listContexts();
  if (options.quiet === true) {
    out.write(contexts.map((c) => `${c.name}\n`).join(''));
    return;
  }
  const json = (c: ContextSummary) => ({
    ...Object.fromEntries(contextColumns.map((col) => [col.field, col.value(c)])),
    Name: c.name,
    Current: c.current,
  });
  out.write(formatRows(contexts, contextColumns, options.format, json));
}

/** The first kubeconfig file, parsed, and how to write it back (atomically). */
async function firstFile(): Promise<{ doc: Doc; save: () => Promise<void> }> {
  const path = kubeconfigFiles()[0]!;
  let doc: Doc;
  try {
    doc = (parse(await readFile(path, 'utf8')) ?? {}) as Doc;
  } catch (e) {
    throw new KubeconfigError(`cannot read kubeconfig ${path}: ${(e as Error).message.split('\n')[0] ?? ''}`, e);
  }
  return {
    doc,
    save: async () => {
      await writeFile(`${path}.berth-tmp`, stringify(doc), { mode: 0o600 });
      await rename(`${path}.berth-tmp`, path);
    },
  };
}

const known = (name: string) => listContexts().find((c) => c.name === name);

export async function contextUse(name: string, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  if (known(name) === undefined) throw new CliError('BERTH_CLI_KUBECONFIG', `context "${name}" does not exist`);
  const file = await firstFile();
  file.doc['current-context'] = name;
  await file.save();
  out.write(`${name}\n`);
}

export interface ContextCreateOptions {
  /** The context to copy cluster and user from. @default the current one */
  readonly from?: string;
  readonly namespace?: string;
  readonly cluster?: string;
  readonly user?: string;
}

export async function contextCreate(
  name: string,
  options: ContextCreateOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  if (known(name) !== undefined) throw new CliError('BERTH_CLI_KUBECONFIG', `context "${name}" already exists`);
  const all = listContexts();
  const base = options.from === undefined ? all.find((c) => c.current) : known(options.from);
  if (base === undefined && (options.cluster === undefined || options.user === undefined))
    throw new UsageError(
      options.from === undefined
        ? 'no current context to copy: give --from, or --cluster and --user'
        : `context "${options.from}" does not exist`,
    );
  const namespace = options.namespace ?? base?.namespace;
  const file = await firstFile();
  file.doc.contexts = [
    ...(file.doc.contexts ?? []),
    {
      name,
      context: {
        cluster: options.cluster ?? base?.cluster,
        user: options.user ?? base?.user,
        ...(namespace !== undefined ? { namespace } : {}),
      },
    },
  ];
  await file.save();
  out.write(`${name}\n`);
}

export async function contextRm(names: readonly string[], out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const file = await firstFile();
  for (const name of names) {
    const list = file.doc.contexts ?? [];
    if (!list.some((c) => c.name === name))
      throw new CliError('BERTH_CLI_KUBECONFIG', `context "${name}" is not in ${kubeconfigFiles()[0] ?? ''}`);
    if (file.doc['current-context'] === name)
      throw new CliError('BERTH_CLI_KUBECONFIG', `context "${name}" is in use: \`berth context use\` another first`);
    file.doc.contexts = list.filter((c) => c.name !== name);
  }
  await file.save();
  out.write(names.map((n) => `${n}\n`).join(''));
}
