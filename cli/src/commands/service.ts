// `berth service history` and `berth service rollback`: a Service's revisions (the ConfigMaps the service
// controller keeps, labelled berth.dev/service) and a rollback by the annotation the controller acts on, as
// `kubectl rollout history` and `kubectl rollout undo` do for a Deployment.

import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { connectToApi, type ApiConnection } from '../api-connection.js';
import { statusError } from '../api/client.js';
import { CliError, UnreachableError } from '../errors.js';

/** The service controller's names (controllers/src/service/labels.ts); the CLI reaches no package's internals. */
const serviceLabel = 'berth.dev/service';
const revisionAnnotation = 'berth.dev/revision';
const templateHashLabel = 'berth.dev/template-hash';
const rollbackAnnotation = 'berth.dev/rollback-to';

async function call(api: ApiConnection, method: string, path: string, body?: unknown): Promise<unknown> {
  const url = new URL(path, api.server);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        ...api.options,
        method,
        headers: {
          ...api.options.headers,
          Accept: 'application/json',
          ...(text !== undefined ? { 'Content-Type': 'application/merge-patch+json' } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const out = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300) reject(statusError(res.statusCode ?? 0, out));
          else resolve(JSON.parse(out) as unknown);
        });
      },
    );
    req.on('error', (e) => reject(new UnreachableError(api.server.origin, e)));
    req.end(text);
  });
}

const servicePath = (ns: string, name: string) =>
  `/apis/berth.dev/v1alpha1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(name)}`;

interface Meta {
  metadata: {
    name?: string;
    uid?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string; controller?: boolean }[];
  };
}

/** Prints REVISION, HASH, CREATED, CURRENT for each revision the Service keeps. */
export async function serviceHistory(
  name: string,
  options: { namespace?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const api = await connectToApi(options.namespace);
  const svc = (await call(api, 'GET', servicePath(api.namespace, name))) as Meta;
  const selector = encodeURIComponent(`${serviceLabel}=${name}`);
  const list = (await call(
    api,
    'GET',
    `/api/v1/namespaces/${encodeURIComponent(api.namespace)}/configmaps?labelSelector=${selector}`,
  )) as { items: Meta[] };
  const current = svc.metadata.annotations?.[revisionAnnotation];
  const rows = list.items
    .filter((cm) => cm.metadata.ownerReferences?.some((r) => r.uid === svc.metadata.uid && r.controller === true))
    .map((cm) => ({
      revision: cm.metadata.annotations?.[revisionAnnotation] ?? '?',
      hash: cm.metadata.labels?.[templateHashLabel] ?? '',
      created: cm.metadata.creationTimestamp ?? '',
    }))
    .sort((a, b) => Number(a.revision) - Number(b.revision));
  out.write(`${['REVISION', 'TEMPLATE-HASH', 'CREATED', 'CURRENT'].join('\t')}\n`);
  for (const r of rows) out.write(`${[r.revision, r.hash, r.created, r.revision === current ? '*' : ''].join('\t')}\n`);
}

/** Asks the service controller to roll back to `toRevision` (0: the previous one) and says so. */
export async function serviceRollback(
  name: string,
  options: { namespace?: string; toRevision?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const to = options.toRevision ?? '0';
  if (!/^\d+$/.test(to))
    throw new CliError('BERTH_CLI_USAGE', `--to-revision: "${to}" must be a revision number (0 for the previous one)`);
  const api = await connectToApi(options.namespace);
  await call(api, 'PATCH', servicePath(api.namespace, name), {
    metadata: { annotations: { [rollbackAnnotation]: to } },
  });
  out.write(
    `service.berth.dev/${name} rollback to ${to === '0' ? 'the previous revision' : `revision ${to}`} requested\n`,
  );
}
