// One Container seen as a `v1` Pod (same name, namespace, uid, resourceVersion, labels, ownerReferences): the Pod
// has one container, named as the Container, whose spec and status are the Container's in a Pod's words. The
// projection is a pure function of the stored Container, so a watch of Containers is a watch of Pods.

import { isPlainObject, type KubeObject } from '../objects/object.js';
import {
  containerFields,
  containerNameAnnotation,
  isClientCondition,
  podContainerName,
  podFields,
} from './pod-fields.js';
import { podManagedFields } from './pod-managed-fields.js';

export { containerFields, containerNameAnnotation, isClientCondition, podContainerName, podFields };

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (isPlainObject(v) ? v : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
/** Copies the keys of `from` that are set, leaving the rest out (a Pod never says `undefined`). */
const pick = (from: Json, keys: readonly string[]): Json => {
  const out: Json = {};
  for (const k of keys) if (from[k] !== undefined) out[k] = from[k];
  return out;
};

/** `Pulling` is a Pod's `Pending`; every other phase has the same name. */
const podPhase = (phase: string | undefined): string =>
  phase === undefined || phase === 'Pulling' ? 'Pending' : phase;

const conditionOf = (status: Json, type: string): Json | undefined => {
  const conditions = status['conditions'];
  return Array.isArray(conditions) ? conditions.map(obj).find((c) => c['type'] === type) : undefined;
};
const isTrue = (c: Json | undefined): boolean => c?.['status'] === 'True';

/** The container's state, last state and readiness, as a kubelet reports a Pod's container. */
function containerStatus(name: string, spec: Json, status: Json): Json {
  const phase = str(status['phase']);
  // While it pulls, kubelet's container waits as ContainerCreating (the pull itself is an Event).
  const reason = str(status['reason']) === 'Pulling' ? undefined : str(status['reason']);
  const message = str(status['message']);
  const running = conditionOf(status, 'Running');
  const terminated = {
    ...(typeof status['exitCode'] === 'number' ? { exitCode: status['exitCode'] } : { exitCode: 0 }),
    ...(typeof status['signal'] === 'number' ? { signal: status['signal'] } : {}),
    ...(str(status['startedAt']) === undefined ? {} : { startedAt: status['startedAt'] }),
    ...(str(status['finishedAt']) === undefined ? {} : { finishedAt: status['finishedAt'] }),
    ...(str(status['containerID']) === undefined ? {} : { containerID: `berth://${String(status['containerID'])}` }),
  };
  let state: Json;
  let lastState: Json = {};
  if (phase === 'Succeeded' || phase === 'Failed') {
    state = {
      terminated: {
        ...terminated,
        reason: reason ?? (phase === 'Succeeded' ? 'Completed' : 'Error'),
        ...(message === undefined ? {} : { message }),
      },
    };
  } else if (reason === 'CrashLoopBackOff') {
    state = { waiting: { reason, ...(message === undefined ? {} : { message }) } };
    lastState = { terminated: { ...terminated, reason: 'Error' } };
  } else if (phase === 'Running' && isTrue(running)) {
    state = { running: str(status['startedAt']) === undefined ? {} : { startedAt: status['startedAt'] } };
  } else {
    state = { waiting: { reason: reason ?? 'ContainerCreating', ...(message === undefined ? {} : { message }) } };
  }
  // After a restart: how the run before it ended, as the agent kept it.
  const ended = obj(status['lastTermination']);
  if (reason !== 'CrashLoopBackOff' && typeof ended['exitCode'] === 'number') {
    const id = str(ended['containerID']);
    lastState = { terminated: { ...ended, ...(id === undefined ? {} : { containerID: `berth://${id}` }) } };
  }
  const ready = isTrue(conditionOf(status, 'Ready'));
  return {
    name,
    image: spec['image'] ?? '',
    imageID: str(status['imageID']) ?? '',
    ...(str(status['containerID']) === undefined ? {} : { containerID: `berth://${String(status['containerID'])}` }),
    ready,
    started: state['running'] !== undefined,
    restartCount: typeof status['restartCount'] === 'number' ? status['restartCount'] : 0,
    state,
    lastState,
  };
}

/** kubelet's QoS class from the one container's resources. */
function qosClass(resources: Json): string {
  const limits = obj(resources['limits']);
  const requests = obj(resources['requests']);
  const has = (m: Json) => m['cpu'] !== undefined || m['memory'] !== undefined;
  if (!has(limits) && !has(requests)) return 'BestEffort';
  const guaranteed =
    limits['cpu'] !== undefined &&
    limits['memory'] !== undefined &&
    (requests['cpu'] === undefined || String(requests['cpu']) === String(limits['cpu'])) &&
    (requests['memory'] === undefined || String(requests['memory']) === String(limits['memory']));
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function podConditions(status: Json, bound: boolean): Json[] {
  const at = (c: Json | undefined) =>
    str(c?.['lastTransitionTime']) === undefined ? {} : { lastTransitionTime: c?.['lastTransitionTime'] };
  const scheduled = conditionOf(status, 'Scheduled');
  const ready = conditionOf(status, 'Ready');
  const cond = (type: string, ok: boolean, from: Json | undefined): Json => ({
    type,
    status: ok ? 'True' : 'False',
    ...at(from),
    ...(ok || str(from?.['reason']) === undefined ? {} : { reason: from?.['reason'] }),
    ...(ok || str(from?.['message']) === undefined ? {} : { message: from?.['message'] }),
  });
  const theirs = Array.isArray(status['conditions']) ? status['conditions'].map(obj).filter(isClientCondition) : [];
  if (!bound) return [cond('PodScheduled', false, scheduled), ...theirs];
  return [
    cond('PodScheduled', true, scheduled),
    cond('Initialized', true, scheduled),
    cond('ContainersReady', isTrue(ready), ready),
    cond('Ready', isTrue(ready), ready),
    ...theirs,
  ];
}

/** The Pod a Container is. */
export function containerToPod(container: KubeObject): KubeObject {
  const spec = obj(container['spec']);
  const status = obj(container['status']);
  const name = podContainerName(container);
  const nodeName = str(spec['nodeName']);
  const resources = obj(spec['resources']);
  const { pids: _pids, ...limits } = obj(resources['limits']);
  const { pids: _requestedPids, ...requests } = obj(resources['requests']);
  const ips = Array.isArray(status['ips']) ? status['ips'].map(obj).filter((a) => str(a['ip']) !== undefined) : [];
  const { managedFields: _managed, ...rest } = container.metadata;
  const managedFields = podManagedFields(container);
  const metadata: KubeObject['metadata'] =
    managedFields === undefined ? rest : { ...rest, managedFields: managedFields as NonNullable<typeof _managed> };
  if (metadata.annotations?.[containerNameAnnotation] !== undefined) {
    const { [containerNameAnnotation]: _name, ...annotations } = metadata.annotations;
    if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
    else delete metadata.annotations;
  }
  const podStatus: Json = {
    phase: podPhase(str(status['phase'])),
    conditions: podConditions(status, nodeName !== undefined),
    ...(nodeName === undefined ? {} : { qosClass: qosClass(resources) }),
  };
  if (str(status['message']) !== undefined && status['phase'] === 'Failed') podStatus['message'] = status['message'];
  if (ips.length > 0) {
    podStatus['podIP'] = ips[0]!['ip'];
    podStatus['podIPs'] = ips.map((a) => ({ ip: a['ip'] }));
  }
  const hostIP = str(status['hostIP']);
  if (hostIP !== undefined && nodeName !== undefined) {
    podStatus['hostIP'] = hostIP;
    podStatus['hostIPs'] = [{ ip: hostIP }];
  }
  if (str(status['startedAt']) !== undefined) podStatus['startTime'] = status['startedAt'];
  if (nodeName !== undefined && str(status['phase']) !== undefined)
    podStatus['containerStatuses'] = [containerStatus(name, spec, status)];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata,
    spec: {
      containers: [
        {
          name,
          ...pick(spec, containerFields),
          resources: {
            ...(Object.keys(limits).length > 0 ? { limits } : {}),
            ...(Object.keys(requests).length > 0 ? { requests } : {}),
          },
          terminationMessagePath: '/dev/termination-log',
          terminationMessagePolicy: 'File',
        },
      ],
      ...pick(spec, podFields),
      ...(spec['networkMode'] === 'host' ? { hostNetwork: true } : {}),
      restartPolicy: spec['restartPolicy'] ?? 'Always',
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      serviceAccountName: 'default',
      enableServiceLinks: false,
    },
    status: podStatus,
  };
}
