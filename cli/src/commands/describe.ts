// `berth describe KIND NAME...`: an object as `kubectl describe` prints a custom resource (its fields as titled,
// indented lines), then the Events about it (by its uid), oldest first.

import { connectToApi } from '../api-connection.js';
import { ApiClient, type ApiObject } from '../api/client.js';
import { renderTable } from '../output/table.js';
import { discoverResources, resolveResource, resourcePath } from '../resources/discovery.js';

interface Event {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  metadata: { creationTimestamp?: string };
}

/** `creationTimestamp` → `Creation Timestamp`, as kubectl titles a field. */
const title = (key: string): string =>
  key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/^./, (c) => c.toUpperCase());

const scalar = (v: unknown): string => (v === null || v === undefined ? '<none>' : String(v));

/** Maps whose keys are the user's (a ConfigMap's data, labels), printed as they are. */
const userKeyed: ReadonlySet<string> = new Set([
  'data',
  'stringData',
  'binaryData',
  'labels',
  'annotations',
  'matchLabels',
  'nodeSelector',
]);

function fields(value: Record<string, unknown>, indent: string, raw = false): string {
  let out = '';
  for (const [k, v] of Object.entries(value)) {
    const key = raw ? k : title(k);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      out += `${indent}${key}:\n${fields(v as Record<string, unknown>, `${indent}  `, userKeyed.has(k))}`;
    } else if (Array.isArray(v)) {
      out += `${indent}${key}:\n`;
      for (const item of v as unknown[])
        out +=
          item !== null && typeof item === 'object'
            ? fields(item as Record<string, unknown>, `${indent}  `)
            : `${indent}  ${scalar(item)}\n`;
    } else {
      out += `${indent}${key}:  ${scalar(v)}\n`;
    }
  }
  return out;
}

const pairs = (m: Record<string, string> | undefined): string =>
  m === undefined || Object.keys(m).length === 0
    ? '<none>'
    : Object.entries(m)
        .map(([k, v]) => `${k}=${v}`)
        .join('\n              ');

/** kubectl's short age: 45s, 3m12s, 5h, 2d. */
export function shortAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 600) return `${Math.floor(s / 60)}m${s % 60 === 0 ? '' : `${s % 60}s`}`;
  if (s < 3 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function eventsText(events: readonly Event[], now: number): string {
  if (events.length === 0) return 'Events:  <none>\n';
  const when = (e: Event) => e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? '';
  const sorted = [...events].sort((a, b) => when(a).localeCompare(when(b)));
  const table = renderTable(
    ['Type', 'Reason', 'Age', 'From', 'Message'],
    [
      ['----', '------', '----', '----', '-------'],
      ...sorted.map((e) => {
        const age = when(e) === '' ? '<unknown>' : shortAge(now - Date.parse(when(e)));
        const count =
          (e.count ?? 1) > 1 ? ` (x${e.count} over ${shortAge(now - Date.parse(e.firstTimestamp ?? when(e)))})` : '';
        return [
          e.type ?? '',
          e.reason ?? '',
          `${age}${count}`,
          e.source?.component ?? e.reportingComponent ?? '',
          e.message ?? '',
        ];
      }),
    ],
  );
  return `Events:\n${table.replace(/^/gm, '  ').trimEnd()}\n`;
}

export async function describe(
  kind: string,
  names: readonly string[],
  options: { readonly namespace?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const r = resolveResource(await discoverResources(client), kind);
  const texts: string[] = [];
  for (const name of names) {
    const o = await client.request<ApiObject & Record<string, unknown>>('GET', resourcePath(r, client.namespace, name));
    const m = o.metadata;
    const selector = [
      `involvedObject.name=${name}`,
      ...(r.namespaced ? [`involvedObject.namespace=${client.namespace}`] : []),
      ...(m.uid !== undefined ? [`involvedObject.uid=${m.uid}`] : []),
    ].join(',');
    const eventsPath = `/api/v1${r.namespaced ? `/namespaces/${encodeURIComponent(client.namespace)}` : ''}/events`;
    const events = await client.request<{ items?: Event[] }>(
      'GET',
      `${eventsPath}?fieldSelector=${encodeURIComponent(selector)}`,
    );
    const { apiVersion, kind: k, metadata, ...rest } = o;
    const {
      name: _n,
      namespace: _ns,
      labels,
      annotations,
      managedFields: _mf,
      ...meta
    } = metadata as Record<string, unknown>;
    texts.push(
      `Name:         ${name}\n` +
        (r.namespaced ? `Namespace:    ${client.namespace}\n` : '') +
        `Labels:       ${pairs(labels as Record<string, string> | undefined)}\n` +
        `Annotations:  ${pairs(annotations as Record<string, string> | undefined)}\n` +
        `API Version:  ${apiVersion ?? `${r.group}/${r.version}`}\n` +
        `Kind:         ${k ?? r.kind}\n` +
        `Metadata:\n${fields(meta, '  ')}` +
        fields(rest, '') +
        eventsText(events.items ?? [], Date.now()),
    );
  }
  out.write(texts.join('\n\n'));
}
