// Cells a printer column's JSONPath cannot compute (ages of other fields, counts, "reason, else phase"), for the
// kinds berth serves itself, as Kubernetes' built-in printers (pkg/printers/internalversion) compute them.
// The columns themselves (names, order, priority) stay declared with their kind; this only says how to fill them.

import { isPlainObject, type KubeObject } from '../objects/object.js';
import { podCells } from '../pod-view/pod-table.js';
import { humanDuration } from './human-duration.js';

/** Computes one cell of a row; `now` is the table's clock (ms). */
export type CellFunction = (obj: KubeObject, now: number) => unknown;

const field = (obj: unknown, ...path: string[]): unknown => {
  let v: unknown = obj;
  for (const p of path) v = isPlainObject(v) ? v[p] : undefined;
  return v;
};
const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const count = (...values: unknown[]): number =>
  values.reduce<number>((n, v) => n + (Array.isArray(v) ? v.length : isPlainObject(v) ? Object.keys(v).length : 0), 0);
/** translateTimestampSince: `<unknown>` for a missing time. */
const since = (time: unknown, now: number): string => {
  const t = typeof time === 'string' && time !== '' ? Date.parse(time) : NaN;
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
};
const orUnknown = (v: unknown): string => (text(v) === '' ? '<unknown>' : text(v));

// --- Event: printEvent ---

const eventFirstSeen: CellFunction = (e, now) => since(text(e['firstTimestamp']) || text(e['eventTime']), now);
const eventLastSeen: CellFunction = (e, now) => {
  const observed = field(e, 'series', 'lastObservedTime');
  if (isPlainObject(e['series'])) return since(observed, now);
  return text(e['lastTimestamp']) === '' ? eventFirstSeen(e, now) : since(e['lastTimestamp'], now);
};
const eventCount: CellFunction = (e) => {
  const series = field(e, 'series', 'count');
  if (isPlainObject(e['series'])) return typeof series === 'number' ? series : 0;
  return typeof e['count'] === 'number' && e['count'] !== 0 ? e['count'] : 1;
};
/** `kind/name` with the kind lower-cased, as `kubectl get events` prints the involved object. */
const eventObject: CellFunction = (e) => {
  const kind = text(field(e, 'involvedObject', 'kind')).toLowerCase();
  const name = text(field(e, 'involvedObject', 'name'));
  return name === '' ? kind : `${kind}/${name}`;
};
const eventSource: CellFunction = (e) => {
  const component = text(field(e, 'source', 'component')) || text(e['reportingComponent']);
  const instance = text(field(e, 'source', 'host')) || text(e['reportingInstance']);
  return instance === '' ? component : `${component}, ${instance}`;
};

// --- Node: printNode ---

/** `Ready`/`NotReady`/`Unknown`, then `SchedulingDisabled` when cordoned. */
const nodeStatus: CellFunction = (n) => {
  const conditions = field(n, 'status', 'conditions');
  const ready = Array.isArray(conditions) ? conditions.find((c) => field(c, 'type') === 'Ready') : undefined;
  const status = [ready === undefined ? 'Unknown' : field(ready, 'status') === 'True' ? 'Ready' : 'NotReady'];
  if (field(n, 'spec', 'unschedulable') === true) status.push('SchedulingDisabled');
  return status.join(',');
};
/** Roles from `node-role.kubernetes.io/<role>` labels and the older `kubernetes.io/role=<role>`, sorted. */
const nodeRoles: CellFunction = (n) => {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(n.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 'node-role.kubernetes.io/'.length)
      roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v !== '') roles.add(v);
  }
  return roles.size === 0 ? '<none>' : [...roles].sort().join(',');
};
const nodeAddress =
  (type: string): CellFunction =>
  (n) => {
    const addresses = field(n, 'status', 'addresses');
    const found = Array.isArray(addresses) ? addresses.find((a) => field(a, 'type') === type) : undefined;
    return text(field(found, 'address')) || '<none>';
  };
const nodeInfo =
  (key: string): CellFunction =>
  (n) =>
    orUnknown(field(n, 'status', 'nodeInfo', key));

/** Per `group/Kind`, per column name: the function that fills the column's cells. */
export const computedCells: ReadonlyMap<string, Readonly<Record<string, CellFunction>>> = new Map<
  string,
  Record<string, CellFunction>
>([
  [
    '/Event',
    {
      'Last Seen': eventLastSeen,
      Object: eventObject,
      Source: eventSource,
      Message: (e) => text(e['message']).trim(),
      'First Seen': eventFirstSeen,
      Count: eventCount,
    },
  ],
  [
    '/Node',
    {
      Status: nodeStatus,
      Roles: nodeRoles,
      'Internal-IP': nodeAddress('InternalIP'),
      'External-IP': nodeAddress('ExternalIP'),
      'OS-Image': nodeInfo('osImage'),
      'Kernel-Version': nodeInfo('kernelVersion'),
      'Container-Runtime': nodeInfo('containerRuntimeVersion'),
    },
  ],
  ['/Pod', podCells],
  ['/ConfigMap', { Data: (cm) => count(cm['data'], cm['binaryData']) }],
  ['/Secret', { Data: (s) => count(s['data']) }],
  ['/ServiceAccount', { Secrets: (sa) => count(sa['secrets']) }],
  ['coordination.k8s.io/Lease', { Holder: (l) => text(field(l, 'spec', 'holderIdentity')) }],
  // What a user must know first, as `kubectl get pods` prints it: CrashLoopBackOff, ErrImagePull, OOMKilled…
  [
    'berth.dev/Container',
    { Status: (c) => text(field(c, 'status', 'reason')) || text(field(c, 'status', 'phase')) || null },
  ],
]);
