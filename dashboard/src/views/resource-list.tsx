// One kind's live list: the watched collection, filtered by a search box, in a virtualized table whose rows
// open the object. Nodes also show their usage (metrics.k8s.io, read when the view opens or on Refresh).

import { useEffect, useMemo, useState } from 'preact/hooks';
import { useLocation } from 'wouter-preact';
import { apiJson } from '../api/client.js';
import type { KubeObject } from '../api/objects.js';
import type { ResourceType } from '../api/resources.js';
import { useCollection } from '../api/use-collection.js';
import { type CellContext, columnsOf, eventTime } from '../kinds/columns.js';
import { useNow } from './now.js';
import { VirtualTable } from './virtual-table.js';

interface NodeMetricsList {
  readonly items: readonly { metadata: { name: string }; usage: { cpu: string; memory: string } }[];
}

const newestEventFirst = (a: KubeObject, b: KubeObject) => eventTime(b).localeCompare(eventTime(a));

export const detailHref = (r: ResourceType, o: KubeObject): string =>
  `/${r.id}/${r.namespaced ? (o.metadata.namespace ?? '') : '_'}/${o.metadata.name}`;

export function ResourceList(props: { resource: ResourceType; namespace: string | undefined }) {
  const { resource } = props;
  const state = useCollection(resource, props.namespace, resource.id === 'events' ? { sort: newestEventFirst } : {});
  const [filter, setFilter] = useState('');
  const [, navigate] = useLocation();
  const now = useNow();
  const [nodeUsage, setNodeUsage] = useState<CellContext['nodeUsage']>(new Map());
  const [usageError, setUsageError] = useState<string>();
  const readUsage = () =>
    apiJson<NodeMetricsList>('/apis/metrics.k8s.io/v1beta1/nodes').then(
      (l) => {
        setNodeUsage(new Map(l.items.map((m) => [m.metadata.name, m.usage])));
        setUsageError(undefined);
      },
      (e: unknown) => setUsageError(String(e)),
    );
  useEffect(() => {
    if (resource.id === 'nodes') void readUsage();
  }, [resource.id]);

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
  const context: CellContext = { now, nodeUsage };
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
          <button type="button" onClick={() => void readUsage()}>
            Refresh usage
          </button>
        ) : null}
        <span class={`live ${state.error === undefined ? 'on' : 'off'}`} title={state.error ?? 'watching'}>
          {state.error === undefined ? 'live' : 'reconnecting'}
        </span>
      </header>
      {state.error === undefined ? null : <p class="error">{state.error}</p>}
      {usageError === undefined ? null : <p class="error">usage: {usageError}</p>}
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
