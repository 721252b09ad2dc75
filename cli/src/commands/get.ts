// `berth get KIND [NAME...]`: the server's own table (`as=Table`, the columns `kubectl get` prints; -o wide adds
// the rest), or the objects as YAML or JSON, or kind/name lines.

import { stringify } from 'yaml';
import { connectToApi } from '../api-connection.js';
import { ApiClient, type ApiObject } from '../api/client.js';
import { UsageError } from '../errors.js';
import { renderTable } from '../output/table.js';
import {
  discoverResources,
  qualifiedName,
  resolveResource,
  resourcePath,
  type ResourceInfo,
} from '../resources/discovery.js';

export interface GetOptions {
  readonly namespace?: string;
  readonly output?: string;
  readonly allNamespaces?: boolean;
  readonly selector?: string;
}

interface Table {
  columnDefinitions: { name: string; priority?: number }[];
  rows: { cells: unknown[]; object?: ApiObject }[];
}

const tableAccept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

const cellText = (v: unknown): string =>
  v === null || v === undefined ? '<none>' : typeof v === 'object' ? JSON.stringify(v) : String(v);

/** With apiVersion and kind (a list's items have none), without managedFields (kubectl's default). */
function withKind(r: ResourceInfo, o: ApiObject): ApiObject {
  const { managedFields: _, ...metadata } = o.metadata;
  return { apiVersion: r.group === '' ? r.version : `${r.group}/${r.version}`, kind: r.kind, ...o, metadata };
}

export async function get(
  kind: string,
  names: readonly string[],
  options: GetOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const output = options.output ?? '';
  if (!['', 'wide', 'yaml', 'json', 'name'].includes(output))
    throw new UsageError(
      `unable to match a printer suitable for the output format "${output}": yaml, json, wide or name`,
    );
  const client = new ApiClient(await connectToApi(options.namespace));
  const r = resolveResource(await discoverResources(client), kind);
  const all = options.allNamespaces === true && names.length === 0;
  const namespace = all ? undefined : client.namespace;
  const table = output === '' || output === 'wide';
  const params = new URLSearchParams();
  if (options.selector !== undefined) params.set('labelSelector', options.selector);
  // Each row's metadata, for the NAMESPACE column of -A.
  if (table) params.set('includeObject', 'Metadata');
  const query = params.size === 0 ? '' : `?${params.toString()}`;
  const accept = table ? tableAccept : 'application/json';
  type Answer = Table & ApiObject & { items?: ApiObject[] };
  const read = (path: string) => client.request<Answer>('GET', path, undefined, undefined, accept);
  const answers: Answer[] =
    names.length === 0
      ? [await read(`${resourcePath(r, namespace)}${query}`)]
      : await Promise.all(names.map((n) => read(resourcePath(r, namespace, n))));
  if (!table) {
    const objects = (names.length === 0 ? (answers[0]?.items ?? []) : answers).map((o: ApiObject) => withKind(r, o));
    if (output === 'name') {
      out.write(objects.map((o) => `${qualifiedName(r, o.metadata.name ?? '')}\n`).join(''));
      return;
    }
    const value =
      names.length === 1
        ? objects[0]
        : { apiVersion: 'v1', kind: 'List', items: objects, metadata: { resourceVersion: '' } };
    out.write(output === 'json' ? `${JSON.stringify(value, null, 4)}\n` : stringify(value));
    return;
  }
  const definitions = answers[0]?.columnDefinitions ?? [];
  const shown = definitions.map((d, i) => ({ d, i })).filter(({ d }) => output === 'wide' || (d.priority ?? 0) === 0);
  const rows = answers.flatMap((a) => a.rows ?? []);
  if (rows.length === 0) {
    err.write(all ? 'No resources found\n' : `No resources found in ${client.namespace} namespace.\n`);
    return;
  }
  const showNamespace = all && r.namespaced;
  out.write(
    renderTable(
      [...(showNamespace ? ['NAMESPACE'] : []), ...shown.map(({ d }) => d.name.toUpperCase())],
      rows.map((row) => [
        ...(showNamespace ? [row.object?.metadata.namespace ?? ''] : []),
        ...shown.map(({ i }) => cellText(row.cells[i])),
      ]),
    ),
  );
}
