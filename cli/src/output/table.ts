// Tables as docker prints them (Go's tabwriter: columns padded to the widest cell plus three spaces), and
// `--format` templates: `table {{.ID}}\t{{.Names}}`, `{{.Names}}`, `{{json .}}` and `json`.

import { UsageError } from '../errors.js';

export interface Column<R> {
  /** The header, e.g. CONTAINER ID. */
  readonly header: string;
  /** The template field, e.g. ID for {{.ID}}. */
  readonly field: string;
  readonly value: (row: R) => string;
}

/** Aligned rows, the header first. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const lines = all.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]! + 3)))
      .join('')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

/** The rows as `--format` asks (undefined: the default table), or as the default columns. */
export function formatRows<R>(
  rows: readonly R[],
  columns: readonly Column<R>[],
  format: string | undefined,
  json: (row: R) => unknown,
): string {
  if (format === undefined || format === '' || format === 'table')
    return renderTable(
      columns.map((c) => c.header),
      rows.map((r) => columns.map((c) => c.value(r))),
    );
  if (format === 'json') return rows.map((r) => `${JSON.stringify(json(r))}\n`).join('');
  const table = /^table\s+/.test(format);
  const template = format
    .replace(/^table\s+/, '')
    .replace(/\\t/g, '\t')
    .replace(/\\n/g, '\n');
  const byField = new Map(columns.map((c) => [c.field, c]));
  const render = (row: R | undefined): string =>
    template.replace(/\{\{\s*(json\s+)?\.([A-Za-z]*)\s*\}\}/g, (_m, asJson: string | undefined, field: string) => {
      if (field === '') return row === undefined ? '' : JSON.stringify(json(row));
      const column = byField.get(field);
      if (column === undefined)
        throw new UsageError(`template: can't evaluate field ${field} (fields: ${[...byField.keys()].join(', ')})`);
      if (row === undefined) return column.header;
      return asJson !== undefined ? JSON.stringify(column.value(row)) : column.value(row);
    });
  if (!table) return rows.map((r) => `${render(r)}\n`).join('');
  const cells = (text: string) => text.split('\t');
  return renderTable(
    cells(render(undefined)),
    rows.map((r) => cells(render(r))),
  );
}

/** "5 seconds ago", docker's CREATED column. */
export function ago(timestamp: string | undefined, humanDuration: (ms: number) => string, now = Date.now()): string {
  if (timestamp === undefined) return '';
  return `${humanDuration(now - Date.parse(timestamp))} ago`;
}
