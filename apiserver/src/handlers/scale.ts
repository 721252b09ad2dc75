// The scale subresource: an autoscaling/v1 Scale view of a resource's replica paths (CRD scale semantics).

import { badRequest } from '../errors/api-error.js';
import { isPlainObject, type KubeObject } from '../objects/object.js';
import type { Resource } from '../registry/resource.js';
import { evaluateJsonPath } from '../table/json-path.js';

export interface Scale {
  apiVersion: 'autoscaling/v1';
  kind: 'Scale';
  metadata: KubeObject['metadata'];
  spec: { replicas?: number };
  status: { replicas: number; selector?: string };
}

export function scaleOf(resource: Resource, obj: KubeObject): Scale {
  const paths = resource.subresources.scale!;
  const first = (path: string): unknown => evaluateJsonPath(obj, path)[0];
  const specReplicas = first(paths.specReplicasPath);
  const statusReplicas = first(paths.statusReplicasPath);
  const selector = paths.labelSelectorPath === undefined ? undefined : first(paths.labelSelectorPath);
  const m = obj.metadata;
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: Object.fromEntries(
      (['name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp'] as const)
        .filter((k) => m[k] !== undefined)
        .map((k) => [k, m[k]]),
    ),
    spec: typeof specReplicas === 'number' ? { replicas: specReplicas } : {},
    status: {
      replicas: typeof statusReplicas === 'number' ? statusReplicas : 0,
      ...(typeof selector === 'string' ? { selector } : {}),
    },
  };
}

/** Writes a Scale's spec.replicas into the object at the CRD's specReplicasPath. */
export function applyScale(resource: Resource, current: KubeObject, scale: KubeObject): KubeObject {
  const spec = scale['spec'];
  const replicas = isPlainObject(spec) ? spec['replicas'] : undefined;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw badRequest(
      `Scale.autoscaling "${current.metadata.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
    );
  }
  const parts = resource.subresources.scale!.specReplicasPath.replace(/^\./, '').split('.');
  let target: Record<string, unknown> = current;
  for (const p of parts.slice(0, -1)) {
    if (!isPlainObject(target[p])) target[p] = {};
    target = target[p] as Record<string, unknown>;
  }
  target[parts.at(-1)!] = replicas;
  if (scale.metadata?.resourceVersion !== undefined) current.metadata.resourceVersion = scale.metadata.resourceVersion;
  return current;
}
