// One object, live: its summary (the list's columns), its YAML, its Events, a Container's followed log; and the
// actions (scale, restart, delete), each behind a confirmation.

import { useState } from 'preact/hooks';
import { Link, useLocation } from 'wouter-preact';
import { canRestart, canScale, deleteObject, restart, scale } from '../api/actions.js';
import { field, type KubeObject, text } from '../api/objects.js';
import { resourceType, type ResourceType } from '../api/resources.js';
import { useCollection } from '../api/use-collection.js';
import { columnsOf, eventTime } from '../kinds/columns.js';
import { Dialog } from './dialog.js';
import { LogView } from './log-view.js';
import { LazyTerminal } from './lazy-terminal.js';
import { YamlEditor } from './yaml-editor.js';
import { useNow } from './now.js';
import { VirtualTable } from './virtual-table.js';

type Pending = { kind: 'delete' } | { kind: 'restart' } | { kind: 'scale'; replicas: string };

function ObjectEvents(props: { object: KubeObject }) {
  const events = resourceType('events')!;
  const state = useCollection(events, props.object.metadata.namespace ?? 'default', {
    fieldSelector: `involvedObject.name=${props.object.metadata.name}`,
    sort: (a, b) => eventTime(b).localeCompare(eventTime(a)),
  });
  const now = useNow();
  const columns = (columnsOf['events'] ?? []).filter((c) => c.title !== 'Object');
  return (
    <div class="events">
      <VirtualTable
        label="Events"
        rows={state.items.filter((e) => text(field(e, 'involvedObject.uid')) === (props.object.metadata.uid ?? ''))}
        columns={columns}
        rowKey={(o) => o.metadata.name}
        cells={(o) => columns.map((c) => c.cell(o, { now, nodeUsage: new Map() }))}
      />
    </div>
  );
}

export function ObjectDetail(props: {
  resource: ResourceType;
  namespace: string | undefined;
  name: string;
  tab: string;
}) {
  const { resource, name } = props;
  const namespace = resource.namespaced ? props.namespace : undefined;
  // The YAML tab can show managedFields, so this one watch keeps them.
  const state = useCollection(resource, namespace, { fieldSelector: `metadata.name=${name}`, managedFields: true });
  const [pending, setPending] = useState<Pending>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [, navigate] = useLocation();
  const now = useNow();
  const object = state.items[0];
  const base = `/${resource.id}/${namespace ?? '_'}/${name}`;
  const tabs = ['summary', 'yaml', 'events', ...(resource.id === 'containers' ? ['logs', 'terminal'] : [])];
  const tab = tabs.includes(props.tab) ? props.tab : 'summary';

  const act = async (run: () => Promise<unknown>, after?: () => void) => {
    setBusy(true);
    setError(undefined);
    try {
      await run();
      setPending(undefined);
      after?.();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="detail">
      <header class="toolbar">
        <Link href={`/${resource.id}`} class="back">
          ← {resource.title}
        </Link>
        <h1>
          {resource.kind} <span class="name">{name}</span>
          {namespace === undefined ? null : <small> in {namespace}</small>}
        </h1>
        {object === undefined ? null : (
          <div class="actions">
            {canScale(resource) ? (
              <button
                type="button"
                onClick={() => setPending({ kind: 'scale', replicas: text(field(object, 'spec.replicas') ?? 1) })}
              >
                Scale
              </button>
            ) : null}
            {canRestart(resource) ? (
              <button type="button" onClick={() => setPending({ kind: 'restart' })}>
                Restart
              </button>
            ) : null}
            <button type="button" class="danger" onClick={() => setPending({ kind: 'delete' })}>
              Delete
            </button>
          </div>
        )}
      </header>
      {state.loading ? <p>loading…</p> : null}
      {!state.loading && object === undefined ? (
        <p class="empty" data-testid="gone">
          {resource.kind} {name} does not exist (any more).
        </p>
      ) : null}
      {object === undefined ? null : (
        <>
          <nav class="tabs">
            {tabs.map((t) => (
              <Link key={t} href={`${base}/${t}`} class={t === tab ? 'tab active' : 'tab'}>
                {t === 'yaml' ? 'YAML' : t[0]!.toUpperCase() + t.slice(1)}
              </Link>
            ))}
          </nav>
          {object.metadata.deletionTimestamp === undefined ? null : <p class="warn">Being deleted…</p>}
          {tab === 'summary' ? (
            <dl class="summary">
              {(columnsOf[resource.id] ?? []).map((c) => (
                <div key={c.title}>
                  <dt>{c.title}</dt>
                  <dd>{c.cell(object, { now, nodeUsage: new Map() })}</dd>
                </div>
              ))}
              <div>
                <dt>Labels</dt>
                <dd>
                  {Object.entries(object.metadata.labels ?? {}).map(([k, v]) => (
                    <span class="label" key={k}>
                      {k}={v}
                    </span>
                  ))}
                </dd>
              </div>
              <div>
                <dt>Owner</dt>
                <dd>{(object.metadata.ownerReferences ?? []).map((r) => `${r.kind}/${r.name}`).join(', ')}</dd>
              </div>
            </dl>
          ) : null}
          {tab === 'yaml' ? <YamlEditor resource={resource} object={object} /> : null}
          {tab === 'events' ? <ObjectEvents object={object} /> : null}
          {tab === 'logs' ? <LogView namespace={namespace ?? 'default'} name={name} /> : null}
          {tab === 'terminal' ? <LazyTerminal namespace={namespace ?? 'default'} name={name} /> : null}
        </>
      )}
      {pending?.kind === 'delete' && object !== undefined ? (
        <Dialog
          title={`Delete ${resource.kind} ${name}?`}
          confirmLabel="Delete"
          danger
          busy={busy}
          error={error}
          onCancel={() => setPending(undefined)}
          onConfirm={() =>
            void act(
              () => deleteObject(resource, object),
              () => navigate(`/${resource.id}`),
            )
          }
        >
          <p>
            {resource.kind} <b>{name}</b>
            {namespace === undefined ? '' : ` in ${namespace}`} will be deleted
            {resource.id === 'services' ? ', and its Containers with it' : ''}.
          </p>
        </Dialog>
      ) : null}
      {pending?.kind === 'restart' && object !== undefined ? (
        <Dialog
          title={`Restart ${resource.kind} ${name}?`}
          confirmLabel="Restart"
          busy={busy}
          error={error}
          onCancel={() => setPending(undefined)}
          onConfirm={() => void act(() => restart(resource, object))}
        >
          <p>
            {resource.id === 'services'
              ? 'Its replicas are replaced one by one, as its rollout strategy says.'
              : 'The container is stopped and started again.'}
          </p>
        </Dialog>
      ) : null}
      {pending?.kind === 'scale' && object !== undefined ? (
        <Dialog
          title={`Scale ${resource.kind} ${name}`}
          confirmLabel="Scale"
          busy={busy}
          error={error}
          onCancel={() => setPending(undefined)}
          onConfirm={() => {
            const replicas = Number(pending.replicas);
            if (!Number.isInteger(replicas) || replicas < 0) setError('Replicas must be a whole number, 0 or more.');
            else void act(() => scale(resource, object, replicas));
          }}
        >
          <label>
            Replicas
            <input
              type="number"
              min={0}
              name="replicas"
              value={pending.replicas}
              onInput={(e) => setPending({ kind: 'scale', replicas: (e.currentTarget as HTMLInputElement).value })}
            />
          </label>
        </Dialog>
      ) : null}
    </section>
  );
}
