// Server-side printing (`as=Table`): printer columns evaluated per object, as a CRD's table convertor does,
// so `kubectl get` shows useful columns, `-o wide`, `-A`, `--show-labels` and `--sort-by` work.

import type { KubeObject } from '../objects/object.js';
import type { PrinterColumn, Resource } from '../registry/resource.js';
import { evaluateJsonPath } from './json-path.js';

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
  description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated.',
  priority: 0,
};

export function columnDefinitions(resource: Resource): TableColumnDefinition[] {
  return [
    nameColumn,
    ...resource.printerColumns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description ?? '',
      priority: c.priority ?? 0,
    })),
  ];
}

/** Kubernetes' HumanDuration, as `kubectl get` prints ages: 5s, 3m20s, 7h, 4d2h, 2y30d. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 192) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  if (years < 8) return `${years}y${Math.floor(hours / 24) % 365}d`;
  return `${years}y`;
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
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: meta,
    columnDefinitions: withColumns ? columnDefinitions(resource) : [],
    rows: objects.map((obj) => {
      const row: Table['rows'][number] = { cells: [obj.metadata.name ?? '', ...resource.printerColumns.map((c) => cell(obj, c, now))] };
      if (include === 'Object') row.object = obj;
      else if (include === 'Metadata') row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
      return row;
    }),
  };
}
