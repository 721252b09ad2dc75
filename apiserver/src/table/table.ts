// Server-side printing (`as=Table`): printer columns evaluated per object, as a CRD's table convertor does (and,
// for the kinds berth serves itself, cells computed as Kubernetes' printers do), so `kubectl get` shows useful
// columns, `-o wide`, `-A`, `--show-labels` and `--sort-by` work.

import type { KubeObject } from '../objects/object.js';
import type { PrinterColumn, Resource } from '../registry/resource.js';
import { computedCells, type CellFunction } from './computed-columns.js';
import { humanDuration } from './human-duration.js';
import { evaluateJsonPath } from './json-path.js';

export { humanDuration } from './human-duration.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  columnDefinitions: TableColumnDefinition[];
  rows: { cells: unknown[]; object?: unknown }[];
}

const nameColumn: TableColumnDefinition = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated.',
  priority: 0,
};

/** Whether the kind prints its name in a column of its own choosing (an Event's NAME is a wide column, last). */
const printsName = (resource: Resource): boolean => resource.printerColumns.some((c) => c.format === 'name');

export function columnDefinitions(resource: Resource): TableColumnDefinition[] {
  return [
    ...(printsName(resource) ? [] : [nameColumn]),
    ...resource.printerColumns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description ?? '',
      priority: c.priority ?? 0,
    })),
  ];
}

function cell(obj: KubeObject, column: PrinterColumn, now: number): unknown {
  const values = evaluateJsonPath(obj, column.jsonPath);
  if (values.length === 0) return column.type === 'date' ? '<unknown>' : null;
  const v = values.length === 1 ? values[0] : values;
  switch (column.type) {
    case 'date':
      return typeof v === 'string' ? humanDuration(now - Date.parse(v)) : '<unknown>';
    case 'integer':
    case 'number':
      // Built-in printers count maps and lists (a ConfigMap's DATA column).
      if (typeof v === 'object' && v !== null) return Array.isArray(v) ? v.length : Object.keys(v).length;
      return typeof v === 'number' ? v : null;
    case 'boolean':
      return typeof v === 'boolean' ? v : null;
    default:
      if (Array.isArray(v)) return v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(',');
      return typeof v === 'object' && v !== null ? JSON.stringify(v) : v === null ? null : String(v);
  }
}

export function toTable(
  resource: Resource,
  objects: readonly KubeObject[],
  include: IncludeObject,
  meta: Table['metadata'],
  withColumns = true,
): Table {
  const now = Date.now();
  const computed = computedCells.get(`${resource.group}/${resource.kind}`) ?? {};
  const columns = resource.printerColumns.map((c): CellFunction => computed[c.name] ?? ((obj) => cell(obj, c, now)));
  const leading = printsName(resource) ? [] : [(obj: KubeObject) => obj.metadata.name ?? ''];
  const cells = [...leading, ...columns];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: meta,
    columnDefinitions: withColumns ? columnDefinitions(resource) : [],
    rows: objects.map((obj) => {
      const row: Table['rows'][number] = { cells: cells.map((f) => f(obj, now)) };
      if (include === 'Object') row.object = obj;
      else if (include === 'Metadata')
        row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
      return row;
    }),
  };
}
