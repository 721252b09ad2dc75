// What each kind's list shows, column by column: a header, a width (CSS grid track) and the cell. The columns
// follow the kinds' printer columns and add what a person looks for first (status with its reason, rollout).

import type { ComponentChild } from 'preact';
import { condition, field, type KubeObject, list, text } from '../api/objects.js';
import { age, bytes, millicores, quantity } from './format.js';

export interface CellContext {
  readonly now: number;
  /** NodeMetrics usage by node name (metrics.k8s.io). */
  readonly nodeUsage: ReadonlyMap<string, { cpu: string; memory: string }>;
}

export interface Column {
  readonly title: string;
  readonly width: string;
  readonly cell: (o: KubeObject, context: CellContext) => ComponentChild;
}

const name: Column = { title: 'Name', width: 'minmax(12rem, 2fr)', cell: (o) => o.metadata.name };
const namespace: Column = { title: 'Namespace', width: 'minmax(7rem, 1fr)', cell: (o) => o.metadata.namespace ?? '' };
const ageColumn: Column = {
  title: 'Age',
  width: '5rem',
  cell: (o, c) => age(o.metadata.creationTimestamp, c.now),
};

function badge(value: string, tone: 'ok' | 'warn' | 'bad' | 'idle'): ComponentChild {
  return <span class={`badge ${tone}`}>{value}</span>;
}

const phaseTone = (phase: string): 'ok' | 'warn' | 'bad' | 'idle' =>
  phase === 'Running' || phase === 'Ready' || phase === 'Active' || phase === 'Bound' || phase === 'Available'
    ? 'ok'
    : phase === 'Failed' || phase === 'Unknown' || phase === 'Error'
      ? 'bad'
      : phase === 'Succeeded' || phase === 'Released'
        ? 'idle'
        : 'warn';

function readyBadge(o: KubeObject): ComponentChild {
  const ready = condition(o, 'Ready');
  if (ready === undefined) return badge('—', 'idle');
  return (
    <span title={ready.message ?? ''}>
      {badge(ready.status === 'True' ? 'True' : ready.status, ready.status === 'True' ? 'ok' : 'bad')}
    </span>
  );
}

/** A Container's status: phase, and why it is not running when it is not (the reason, the last message). */
function containerStatus(o: KubeObject): ComponentChild {
  const phase = text(field(o, 'status.phase')) || 'Pending';
  const reason = text(field(o, 'status.reason'));
  const deleting = o.metadata.deletionTimestamp !== undefined;
  const shown = deleting ? 'Terminating' : reason !== '' && phase !== 'Running' ? `${phase}: ${reason}` : phase;
  return (
    <span title={text(field(o, 'status.message'))}>
      {badge(shown, deleting ? 'warn' : phaseTone(phase))}
      {phase === 'Running' && condition(o, 'Ready')?.status === 'False' ? badge('not ready', 'warn') : null}
    </span>
  );
}

const ips = (o: KubeObject) =>
  list(field(o, 'status.ips'))
    .map((ip) => text(field(ip, 'ip')))
    .join(', ');

const containerPorts = (o: KubeObject) =>
  list(field(o, 'spec.ports'))
    .map((p) => {
      const host = field(p, 'hostPort');
      const port = `${text(field(p, 'containerPort'))}/${text(field(p, 'protocol')) || 'TCP'}`;
      return host === undefined ? port : `${text(host)}→${port}`;
    })
    .join(', ');

const containers: Column[] = [
  name,
  namespace,
  { title: 'Status', width: 'minmax(13rem, 1.6fr)', cell: containerStatus },
  { title: 'Node', width: 'minmax(6rem, 1fr)', cell: (o) => text(field(o, 'spec.nodeName')) },
  { title: 'IPs', width: 'minmax(7rem, 1fr)', cell: ips },
  { title: 'Ports', width: 'minmax(6rem, 1fr)', cell: containerPorts },
  { title: 'Restarts', width: '5.5rem', cell: (o) => text(field(o, 'status.restartCount') ?? 0) },
  ageColumn,
  { title: 'Image', width: 'minmax(8rem, 1.5fr)', cell: (o) => text(field(o, 'spec.image')) },
];

/** A Service's rollout: up to date and available against desired, and Progressing's reason while it runs. */
function rollout(o: KubeObject): ComponentChild {
  const desired = Number(field(o, 'spec.replicas') ?? 1);
  const updated = Number(field(o, 'status.updatedReplicas') ?? 0);
  const available = Number(field(o, 'status.availableReplicas') ?? 0);
  const progressing = condition(o, 'Progressing');
  const done = updated === desired && available === desired;
  return (
    <span title={progressing?.message ?? ''}>
      {badge(done ? 'complete' : `${updated}/${desired} updated`, done ? 'ok' : 'warn')}
      {progressing?.reason !== undefined && !done ? <small> {progressing.reason}</small> : null}
    </span>
  );
}

function endpoints(o: KubeObject): ComponentChild {
  const all = list(field(o, 'status.endpoints'));
  // Endpoints are kept for Services that publish ports.
  if (all.length === 0 && list(field(o, 'spec.ports')).length === 0) return '—';
  const ready = all.filter((e) => field(e, 'ready') === true);
  return (
    <span title={all.map((e) => `${text(field(e, 'name'))} ${text(field(e, 'ip'))}`).join('\n')}>
      {ready.length}/{all.length} ready
    </span>
  );
}

const services: Column[] = [
  name,
  namespace,
  {
    title: 'Replicas',
    width: '6rem',
    cell: (o) => `${text(field(o, 'status.readyReplicas') ?? 0)}/${text(field(o, 'spec.replicas') ?? 1)}`,
  },
  { title: 'Rollout', width: 'minmax(9rem, 1.3fr)', cell: rollout },
  { title: 'Endpoints', width: '7rem', cell: endpoints },
  {
    title: 'Ports',
    width: 'minmax(5rem, 1fr)',
    cell: (o) =>
      list(field(o, 'spec.ports'))
        .map((p) => text(field(p, 'port')))
        .join(', '),
  },
  ageColumn,
  { title: 'Image', width: 'minmax(8rem, 1.5fr)', cell: (o) => text(field(o, 'spec.template.spec.image')) },
];

function usage(o: KubeObject, c: CellContext, what: 'cpu' | 'memory'): string {
  const used = c.nodeUsage.get(o.metadata.name)?.[what];
  if (used === undefined) return '';
  const capacity = quantity(text(field(o, `status.allocatable.${what}`)) || text(field(o, `status.capacity.${what}`)));
  const n = quantity(used);
  const shown = what === 'cpu' ? millicores(n) : bytes(n);
  return Number.isFinite(capacity) && capacity > 0 ? `${shown} (${Math.round((n / capacity) * 100)}%)` : shown;
}

const nodes: Column[] = [
  name,
  { title: 'Ready', width: '6rem', cell: readyBadge },
  { title: 'CPU', width: '5rem', cell: (o) => text(field(o, 'status.capacity.cpu')) },
  { title: 'Memory', width: '7rem', cell: (o) => bytes(quantity(text(field(o, 'status.capacity.memory')))) },
  { title: 'Pods', width: '5rem', cell: (o) => text(field(o, 'status.capacity.pods')) },
  { title: 'CPU used', width: '10rem', cell: (o, c) => usage(o, c, 'cpu') },
  { title: 'Memory used', width: '10rem', cell: (o, c) => usage(o, c, 'memory') },
  {
    title: 'Address',
    width: 'minmax(7rem, 1fr)',
    cell: (o) => text(field(list(field(o, 'status.addresses'))[0], 'address')),
  },
  ageColumn,
];

const phase: Column = {
  title: 'Status',
  width: 'minmax(6rem, 1fr)',
  cell: (o) => {
    const p = text(field(o, 'status.phase'));
    return p === '' ? '' : badge(p, phaseTone(p));
  },
};

const images: Column[] = [
  name,
  namespace,
  { title: 'Image', width: 'minmax(10rem, 2fr)', cell: (o) => text(field(o, 'spec.image')) },
  phase,
  { title: 'Size', width: '6rem', cell: (o) => bytes(Number(field(o, 'status.size') ?? Number.NaN)) },
  { title: 'Digest', width: 'minmax(8rem, 1.5fr)', cell: (o) => text(field(o, 'status.digest')).slice(0, 19) },
  ageColumn,
];

const networks: Column[] = [
  name,
  namespace,
  { title: 'Driver', width: '6rem', cell: (o) => text(field(o, 'spec.driver')) },
  { title: 'Subnet', width: 'minmax(7rem, 1fr)', cell: (o) => text(field(o, 'status.subnet')) },
  { title: 'Gateway', width: 'minmax(7rem, 1fr)', cell: (o) => text(field(o, 'status.gateway')) },
  { title: 'Containers', width: '6rem', cell: (o) => text(field(o, 'status.memberCount') ?? 0) },
  phase,
  ageColumn,
];

const volumes: Column[] = [
  name,
  namespace,
  { title: 'Driver', width: '6rem', cell: (o) => text(field(o, 'spec.driver')) },
  phase,
  { title: 'Node', width: 'minmax(6rem, 1fr)', cell: (o) => text(field(o, 'status.nodeName')) },
  { title: 'Capacity', width: '6rem', cell: (o) => text(field(o, 'spec.capacity')) },
  { title: 'Used by', width: 'minmax(8rem, 1.5fr)', cell: (o) => list(field(o, 'status.usedBy')).map(text).join(', ') },
  ageColumn,
];

const readyMessage: Column = {
  title: 'Message',
  width: 'minmax(10rem, 3fr)',
  cell: (o) => condition(o, 'Ready')?.message ?? '',
};

const gitRepositories: Column[] = [
  name,
  namespace,
  { title: 'Ready', width: '6rem', cell: readyBadge },
  { title: 'URL', width: 'minmax(10rem, 2fr)', cell: (o) => text(field(o, 'spec.url')) },
  { title: 'Revision', width: 'minmax(8rem, 1.5fr)', cell: (o) => text(field(o, 'status.artifact.revision')) },
  readyMessage,
  ageColumn,
];

const syncs: Column[] = [
  name,
  namespace,
  { title: 'Ready', width: '6rem', cell: readyBadge },
  { title: 'Source', width: 'minmax(8rem, 1fr)', cell: (o) => text(field(o, 'spec.sourceRef.name')) },
  { title: 'Revision', width: 'minmax(8rem, 1.5fr)', cell: (o) => text(field(o, 'status.lastAppliedRevision')) },
  readyMessage,
  ageColumn,
];

export const eventTime = (o: KubeObject): string =>
  text(field(o, 'lastTimestamp')) ||
  text(field(o, 'eventTime')) ||
  text(field(o, 'firstTimestamp')) ||
  (o.metadata.creationTimestamp ?? '');

const events: Column[] = [
  { title: 'Last seen', width: '6.5rem', cell: (o, c) => age(eventTime(o), c.now) },
  {
    title: 'Type',
    width: '7.5rem',
    cell: (o) => {
      const type = text(field(o, 'type'));
      return badge(type, type === 'Warning' ? 'bad' : 'idle');
    },
  },
  { title: 'Reason', width: 'minmax(7rem, 1fr)', cell: (o) => text(field(o, 'reason')) },
  {
    title: 'Object',
    width: 'minmax(10rem, 1.5fr)',
    cell: (o) => `${text(field(o, 'involvedObject.kind'))}/${text(field(o, 'involvedObject.name'))}`,
  },
  { title: 'Message', width: 'minmax(12rem, 4fr)', cell: (o) => text(field(o, 'message')) },
  { title: 'Count', width: '4.5rem', cell: (o) => text(field(o, 'count') ?? 1) },
];

const namespaces: Column[] = [name, phase, ageColumn];

export const columnsOf: Readonly<Record<string, readonly Column[]>> = {
  containers,
  services,
  nodes,
  images,
  networks,
  volumes,
  gitrepositories: gitRepositories,
  syncs,
  events,
  namespaces,
};
