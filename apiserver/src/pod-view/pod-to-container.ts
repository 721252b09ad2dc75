// A Pod written by a client (`kubectl run`, `kubectl apply` of a Pod, a label patch) turned into the Container it
// means. What berth cannot honour (a second container, init containers, PVCs…) is refused with every field named
// at once (422); Kubernetes' defaults that change nothing here (dnsPolicy: ClusterFirst, terminationMessagePath…)
// are accepted and dropped.

import { forbidden, required, type FieldError } from '@berth/api';
import { invalid } from '../errors/api-error.js';
import { cloneJson, isPlainObject, jsonEqual, type KubeObject } from '../objects/object.js';
import { isResetManagedFields } from '../field-ownership/managed-fields.js';
import type { JsonValue } from '../patch/json-value.js';
import { containerManagedFields, podContainerItem } from './pod-managed-fields.js';
import { containerFields, containerNameAnnotation, containerToPod, podFields } from './pod-projection.js';

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (isPlainObject(v) ? v : {});

/** Pod spec fields berth accepts without acting on them (their values change nothing on berth's nodes). */
const ignoredPodFields = new Set([
  'dnsPolicy',
  'schedulerName',
  'serviceAccountName',
  'serviceAccount',
  'automountServiceAccountToken',
  'enableServiceLinks',
  'priority',
  'priorityClassName',
  'preemptionPolicy',
  'securityContext',
  'hostNetwork',
]);
const ignoredContainerFields = new Set(['name', 'terminationMessagePath', 'terminationMessagePolicy', 'stdinOnce']);
const volumeSources = new Set(['name', 'emptyDir', 'hostPath', 'configMap', 'secret']);

/** A Pod field berth refuses, in the words every such 422 uses. */
export const unsupported = (field: string, what: string): FieldError =>
  forbidden(field, `berth cannot honour ${what} (a Pod is a view of one berth Container)`);

/** The Container spec a Pod spec asks for, or every reason it cannot be one. */
function containerSpecOf(podSpec: Json, problems: FieldError[]): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(podSpec)) {
    if (v === undefined || v === null) continue;
    if (k === 'containers') continue;
    if ((podFields as readonly string[]).includes(k)) out[k] = cloneJson(v);
    else if (ignoredPodFields.has(k)) continue;
    else if ((k === 'initContainers' || k === 'ephemeralContainers') && Array.isArray(v) && v.length === 0) continue;
    else problems.push(unsupported(`spec.${k}`, k));
  }
  if (podSpec['hostNetwork'] === true) out['networkMode'] = 'host';
  if (isPlainObject(podSpec['securityContext']) && Object.keys(podSpec['securityContext']).length > 0)
    problems.push(unsupported('spec.securityContext', 'a pod-level securityContext (set it on the container)'));
  if (Array.isArray(out['volumes'])) {
    out['volumes'].forEach((v, i) => {
      for (const k of Object.keys(obj(v)))
        if (!volumeSources.has(k)) problems.push(unsupported(`spec.volumes[${i}].${k}`, `a ${k} volume`));
    });
  }
  const containers = podSpec['containers'];
  if (!Array.isArray(containers) || containers.length === 0) {
    problems.push(required('spec.containers'));
    return out;
  }
  if (containers.length > 1) problems.push(unsupported('spec.containers', 'more than one container'));
  const c = obj(containers[0]);
  if (typeof c['image'] !== 'string' || c['image'] === '') problems.push(required('spec.containers[0].image'));
  for (const [k, v] of Object.entries(c)) {
    if (v === undefined || v === null) continue;
    if ((containerFields as readonly string[]).includes(k)) out[k] = cloneJson(v);
    else if (k === 'resources') {
      const r = obj(v);
      if (Object.keys(obj(r['limits'])).length > 0 || Object.keys(obj(r['requests'])).length > 0)
        out['resources'] = cloneJson(r);
    } else if (!ignoredContainerFields.has(k)) problems.push(unsupported(`spec.containers[0].${k}`, k));
  }
  return out;
}

/** The Container a created Pod becomes: same metadata, the one container's spec. */
export function podToContainer(pod: KubeObject, containerApiVersion: string): KubeObject {
  const problems: FieldError[] = [];
  const spec = containerSpecOf(obj(pod['spec']), problems);
  const { resourceVersion: _rv, ...metadata } = obj(pod.metadata);
  if (problems.length > 0)
    throw invalid('Pod', '', String(metadata['name'] ?? metadata['generateName'] ?? ''), problems);
  const containers = obj(pod['spec'])['containers'];
  const containerName = Array.isArray(containers) ? obj(containers[0])['name'] : undefined;
  if (typeof containerName === 'string' && containerName !== '' && containerName !== metadata['name'])
    metadata['annotations'] = { ...obj(metadata['annotations']), [containerNameAnnotation]: containerName };
  return { apiVersion: containerApiVersion, kind: 'Container', metadata: metadata as KubeObject['metadata'], spec };
}

/**
 * A write to an existing Pod (update or patch): the Pod as the client left it, carried back onto the Container.
 * Metadata a client may change (labels, annotations, ownerReferences, finalizers) is taken over; in the spec only
 * the image may change, as Kubernetes allows; status belongs to the node agent. managedFields the client rewrote
 * are carried back in the Container's paths.
 */
export function podWriteToContainer(current: KubeObject, written: KubeObject): KubeObject {
  const before = containerToPod(current);
  const meta = obj(written.metadata);
  const next = cloneJson(current);
  for (const k of ['labels', 'annotations', 'ownerReferences', 'finalizers'] as const) {
    if (meta[k] === undefined || meta[k] === null) delete next.metadata[k];
    else (next.metadata as Json)[k] = cloneJson(meta[k]);
  }
  const keptName = current.metadata.annotations?.[containerNameAnnotation];
  const annotations = next.metadata.annotations as unknown;
  // Annotations of the wrong type are left for validation to refuse (spread, a string would become an object).
  if (keptName !== undefined && (annotations === undefined || isPlainObject(annotations)))
    next.metadata.annotations = { ...next.metadata.annotations, [containerNameAnnotation]: keptName };
  // managedFields the client changed (`[{}]` clears them, as on Kubernetes) replace the Container's, carried back.
  const fields = meta['managedFields'];
  if (fields !== undefined && !jsonEqual(fields, before.metadata.managedFields)) {
    const carried = isResetManagedFields(fields as JsonValue)
      ? fields
      : containerManagedFields(current, fields, current.apiVersion, podContainerItem(current));
    (next.metadata as Json)['managedFields'] = carried ?? [];
  }
  if (typeof meta['resourceVersion'] === 'string') next.metadata.resourceVersion = meta['resourceVersion'];
  else delete next.metadata.resourceVersion;
  const wanted = obj(written['spec']);
  const had = obj(before['spec']);
  const image = obj(Array.isArray(wanted['containers']) ? wanted['containers'][0] : undefined)['image'];
  const withoutImage = (spec: Json) => {
    const copy = cloneJson(spec);
    const c = Array.isArray(copy['containers']) ? obj(copy['containers'][0]) : {};
    delete c['image'];
    return copy;
  };
  // Compared as the Containers they mean, so Kubernetes' defaults an apply sends (`securityContext: {}`,
  // dnsPolicy…) are no change; a field berth cannot honour still is one.
  const meaning = (spec: Json) => {
    const problems: FieldError[] = [];
    const out = containerSpecOf(withoutImage(spec), problems);
    return { out, problems: problems.map((p) => p.field) };
  };
  if (!jsonEqual(meaning(wanted), meaning(had))) {
    throw invalid('Pod', '', current.metadata.name ?? '', [
      forbidden(
        'spec',
        'pod updates may not change fields other than `spec.containers[*].image` (berth: change the Container instead)',
      ),
    ]);
  }
  if (typeof image === 'string' && image !== '') (next['spec'] as Json)['image'] = image;
  return next;
}
