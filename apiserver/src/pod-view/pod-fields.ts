// What a Pod and the Container it projects from share: the fields of the same name and shape, the name of the Pod's
// one container, and which conditions are a client's (the rest are computed or the node agent's).

import type { KubeObject } from '../objects/object.js';

type Json = Record<string, unknown>;

/**
 * The name a Pod's one container was given when it differs from the Pod's (`kubectl apply` of a Pod whose
 * container is `nginx`): kept on the Container so the Pod reads back as written, and not shown on the Pod.
 */
export const containerNameAnnotation = 'berth.dev/pod-container-name';

/** The name of the Pod's one container: the Container's own name unless the Pod was written with another. */
export function podContainerName(container: KubeObject): string {
  return container.metadata.annotations?.[containerNameAnnotation] ?? container.metadata.name ?? '';
}

/** Fields of a Container's spec that are a Pod container's fields of the same name and shape. */
export const containerFields = [
  'image',
  'imagePullPolicy',
  'command',
  'args',
  'workingDir',
  'env',
  'envFrom',
  'ports',
  'volumeMounts',
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
  'securityContext',
  'tty',
  'stdin',
] as const;

/** Fields of a Container's spec that are the Pod spec's fields of the same name and shape. */
export const podFields = [
  'restartPolicy',
  'nodeName',
  'nodeSelector',
  'tolerations',
  'terminationGracePeriodSeconds',
  'hostname',
  'hostUsers',
  'imagePullSecrets',
  'volumes',
] as const;

/** Condition types the projection computes (the Pod's) or the node agent writes (the Container's). */
const ownConditionTypes = new Set([
  'PodScheduled',
  'Initialized',
  'ContainersReady',
  'Ready',
  'Scheduled',
  'Pulled',
  'Running',
]);

/** Whether a condition is a client's (set through pods/status), shown on the Pod as written. */
export const isClientCondition = (c: Json): boolean =>
  typeof c['type'] === 'string' && !ownConditionTypes.has(c['type']);
