// What the dashboard's buttons do through the API: delete, scale (the scale subresource, as kubectl scale),
// restart (a Service's template annotation, as kubectl rollout restart; a Container stopped and started, as
// berth restart).

import { apiJson } from './client.js';
import type { KubeObject } from './objects.js';
import { objectPath, type ResourceType } from './resources.js';

const mergePatch = 'application/merge-patch+json';

export function deleteObject(r: ResourceType, o: KubeObject): Promise<unknown> {
  return apiJson(objectPath(r, o.metadata.namespace, o.metadata.name), {
    method: 'DELETE',
    body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
  });
}

export function scale(r: ResourceType, o: KubeObject, replicas: number): Promise<unknown> {
  return apiJson(objectPath(r, o.metadata.namespace, o.metadata.name, 'scale'), {
    method: 'PATCH',
    body: { spec: { replicas } },
    contentType: mergePatch,
  });
}

export async function restart(r: ResourceType, o: KubeObject): Promise<void> {
  const path = objectPath(r, o.metadata.namespace, o.metadata.name);
  if (r.id === 'services') {
    await apiJson(path, {
      method: 'PATCH',
      body: {
        spec: {
          template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date().toISOString() } } },
        },
      },
      contentType: mergePatch,
    });
    return;
  }
  // A Container: stopped, then its stop cleared — a new generation the node agent starts again.
  await apiJson(path, { method: 'PATCH', body: { spec: { stopped: true } }, contentType: mergePatch });
  await apiJson(path, { method: 'PATCH', body: { spec: { stopped: null } }, contentType: mergePatch });
}

export const canScale = (r: ResourceType): boolean => r.id === 'services';
export const canRestart = (r: ResourceType): boolean => r.id === 'services' || r.id === 'containers';
