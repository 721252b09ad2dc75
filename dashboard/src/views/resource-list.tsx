// One kind's live list: the watched collection, filtered by a search box, in a virtualized table whose rows
// open the object. Nodes also show their usage (metrics.k8s.io, read again every 15 s: api/node-usage.ts).

import { useMemo, useState } from 'preact/hooks';
import { useLocation } from 'wouter-preact';
import { useNodeUsage } from '../api/node-usage.js';
import type { KubeObject } from '../api/objects.js';
import type { ResourceType } from '../api/resources.js';
import { useCollection } from '../api/use-collection.js';
import { type CellContext, columnsOf, eventTime } from '../kinds/columns.js';
import { useNow } from './now.js';
import { VirtualTable } from './virtual-table.js';

const newestEventFirst = (a: KubeObject, b: KubeObject) => eventTime(b).localeCompare(eventTime(a));

export const detailHref = (r: ResourceType, o: KubeObject): string =>
  `/${r.id}/${r.namespaced ? (o.metadata.namespace ?? '') : '_'}/${o.metadata.name}`;

export function ResourceList(props: { resource: ResourceType; namespace: string | undefined }) {
  const { resource } = props;
  const state = useCollection(resource, props.namespace, resource.id === 'events' ? { sort: newestEventFirst } : {});
  const [filter, setFilter] = useState('');
  const [, navigate] = useLocation();
  const now = useNow();
  const usage = useNodeUsage(resource.id === 'nodes');

  const allColumns = columnsOf[resource.id] ?? [];
  // One namespace shown: its name in every row says nothing.
  const columns = allColumns.filter((c) => c.title !== 'Namespace' || props.namespace === undefined);
  const rows = useMemo(() => {
    const words = filter.trim().toLowerCase();
    if (words === '') return state.items;
    return state.items.filter(
      (o) =>
        o.metadata.name.toLowerCase().includes(words) ||
        Object.entries(o.metadata.labels ?? {}).some(([k, v]) => `${k}=${v}`.includes(words)),
    );
  }, [state.items, filter]);
  const context: CellContext = { now, nodeUsage: usage.usage };
  return (
    <section class="list">
      <header class="toolbar">
        <h1>{resource.title}</h1>
        <span class="count" data-testid="count">
          {state.loading
            ? 'loading…'
            : `${rows.length}${rows.length === state.items.length ? '' : ` of ${state.items.length}`}`}
        </span>
        <input
          type="search"
          placeholder="Filter by name or label"
          aria-label="Filter"
          value={filter}
          onInput={(e) => setFilter((e.currentTarget as HTMLInputElement).value)}
        />
        {resource.id === 'nodes' ? (
          <>
            <span class="usage-time" data-testid="usage-time" title="when the usage shown was measured">
              {usage.timestamp === undefined ? '' : `usage at ${new Date(usage.timestamp).toLocaleTimeString()}`}
            </span>
            <button type="button" onClick={usage.refresh}>
              Refresh usage
            </button>
          </>
        ) : null}
        <span class={`live ${state.error === undefined ? 'on' : 'off'}`} title={state.error ?? 'watching'}>
          {state.error === undefined ? 'live' : 'reconnecting'}
        </span>
      </header>
      {state.error === undefined ? null : <p class="error">{state.error}</p>}
      {usage.error === undefined ? null : <p class="error">usage: {usage.error}</p>}
      <VirtualTable
        label={resource.title}
        rows={rows}
        columns={columns}
        rowKey={(o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`}
        cells={(o) => columns.map((c) => c.cell(o, context))}
        onOpen={(o) => navigate(detailHref(resource, o))}
      />
      {!state.loading && state.items.length === 0 ? <p class="empty">No {resource.title.toLowerCase()}.</p> : null}
    </section>
  );
}
