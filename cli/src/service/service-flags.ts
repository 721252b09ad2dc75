// docker service create's and update's flags as a berth Service: pure translation, checked before any request.
// The template is what `berth run` makes of the same flags (run-spec.ts); published ports go on the Service (the
// routing mesh balances them over the ready replicas), as Swarm's ingress does.

import type { ContainerSpec, EnvVar, IntOrString, Service, ServicePort, ServiceSpec } from '@berth/api';
import { isDNS1123Label } from '@berth/api/helpers';
import { parseEnv, parseLabels, parseMemory, parseCpus, runPlan, type RunFlags } from '../docker/run-spec.js';
import { UsageError } from '../errors.js';

/** The label that ties a berth-made Service to its replicas (Swarm's com.docker.swarm.service.name). */
export const serviceNameLabel = 'berth.dev/service-name';

export interface ServiceCreateFlags {
  readonly name?: string;
  readonly replicas?: string;
  readonly mode?: string;
  readonly publish: readonly string[];
  readonly env: readonly string[];
  readonly envFile: readonly string[];
  readonly network: readonly string[];
  readonly mount: readonly string[];
  readonly label: readonly string[];
  readonly containerLabel: readonly string[];
  readonly constraint: readonly string[];
  readonly entrypoint?: string;
  readonly workdir?: string;
  readonly user?: string;
  readonly hostname?: string;
  readonly limitMemory?: string;
  readonly limitCpu?: string;
  readonly restartCondition?: string;
  readonly stopGracePeriod?: string;
  readonly updateParallelism?: string;
  readonly updateOrder?: string;
}

/** `-p [published:]target[/proto]` or `-p published=8080,target=80[,protocol=udp]`, as Swarm's --publish. */
export function parseServicePort(text: string): ServicePort {
  const port = (p: string | undefined): number => {
    const n = Number(p);
    if (p === undefined || !Number.isInteger(n) || n < 1 || n > 65535)
      throw new UsageError(`invalid --publish "${text}": ${p ?? 'nothing'} is not a port (1-65535)`);
    return n;
  };
  const proto = (p: string | undefined): NonNullable<ServicePort['protocol']> => {
    const upper = (p ?? 'tcp').toUpperCase();
    if (upper !== 'TCP' && upper !== 'UDP' && upper !== 'SCTP')
      throw new UsageError(`invalid --publish "${text}": protocol ${p} is not tcp, udp or sctp`);
    return upper;
  };
  if (text.includes('=')) {
    const fields = new Map(text.split(',').map((kv) => kv.split('=', 2) as [string, string]));
    const target = port(fields.get('target'));
    const published = fields.has('published') ? port(fields.get('published')) : target;
    return { port: published, targetPort: target, protocol: proto(fields.get('protocol')) };
  }
  const m = /^(?:(\d+):)?(\d+)(?:\/(\w+))?$/.exec(text);
  if (m === null) throw new UsageError(`invalid --publish "${text}": want [published:]target[/udp]`);
  const target = port(m[2]);
  return { port: m[1] === undefined ? target : port(m[1]), targetPort: target, protocol: proto(m[3]) };
}

/** `--mount type=volume,source=data,target=/data[,readonly]` as `berth run -v`'s words. */
function mountAsVolumeFlag(text: string): string {
  const fields = new Map(
    text.split(',').map((kv) => {
      const eq = kv.indexOf('=');
      return eq < 0 ? ([kv, 'true'] as const) : ([kv.slice(0, eq), kv.slice(eq + 1)] as const);
    }),
  );
  const type = fields.get('type') ?? 'volume';
  const source = fields.get('source') ?? fields.get('src');
  const target = fields.get('target') ?? fields.get('dst') ?? fields.get('destination');
  if (type !== 'volume' && type !== 'bind')
    throw new UsageError(`invalid --mount "${text}": type ${type} is not supported`);
  if (source === undefined || target === undefined)
    throw new UsageError(`invalid --mount "${text}": want type=volume,source=NAME,target=/path[,readonly]`);
  const ro = ['readonly', 'ro'].some((k) => fields.has(k) && fields.get(k) !== 'false');
  return `${source}:${target}${ro ? ':ro' : ''}`;
}

/** Swarm's --restart-condition: none, on-failure or any (its default). */
function restartPolicy(text: string | undefined): NonNullable<ContainerSpec['restartPolicy']> {
  const policies: Record<string, NonNullable<ContainerSpec['restartPolicy']>> = {
    none: 'Never',
    'on-failure': 'OnFailure',
    any: 'Always',
  };
  const p = policies[text ?? 'any'];
  if (p === undefined) throw new UsageError(`invalid --restart-condition "${text}": want none, on-failure or any`);
  return p;
}

/** `--constraint node.labels.K==V` or `node.hostname==N` as a nodeSelector. */
function nodeSelector(constraints: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of constraints) {
    const m = /^\s*node\.(labels\.([^=\s]+)|hostname)\s*==\s*(\S+)\s*$/.exec(c);
    if (m === null)
      throw new UsageError(`invalid --constraint "${c}": berth takes node.labels.KEY==VALUE or node.hostname==NAME`);
    out[m[2] ?? 'kubernetes.io/hostname'] = m[3]!;
  }
  return out;
}

function replicaCount(text: string): number {
  if (!/^\d+$/.test(text)) throw new UsageError(`invalid replicas "${text}": want a number`);
  return Number(text);
}

/** Swarm's --update-parallelism and --update-order as the rolling update's surge and unavailability. */
function strategy(parallelism: string | undefined, order: string | undefined): ServiceSpec['strategy'] | undefined {
  if (parallelism === undefined && order === undefined) return undefined;
  const n: IntOrString = parallelism === undefined ? 1 : Math.max(1, replicaCount(parallelism));
  if (order !== undefined && order !== 'start-first' && order !== 'stop-first')
    throw new UsageError(`invalid --update-order "${order}": want start-first or stop-first`);
  return {
    type: 'RollingUpdate',
    rollingUpdate: order === 'stop-first' ? { maxSurge: 0, maxUnavailable: n } : { maxSurge: n, maxUnavailable: 0 },
  };
}

/** The Service `berth service create FLAGS IMAGE [COMMAND...]` stands for. */
export async function serviceFromFlags(
  flags: ServiceCreateFlags,
  image: string,
  command: readonly string[],
): Promise<Service> {
  if (flags.mode !== undefined && flags.mode !== 'replicated')
    throw new UsageError(`--mode ${flags.mode}: berth Services are replicated (one node agent runs each replica)`);
  if (flags.network.length > 1) throw new UsageError('berth attaches a Service to one --network');
  const run: RunFlags = {
    publish: [],
    env: flags.env,
    envFile: flags.envFile,
    volume: flags.mount.map(mountAsVolumeFlag),
    label: flags.containerLabel,
    detach: true,
    ...(flags.network[0] !== undefined ? { network: flags.network[0] } : {}),
    ...(flags.entrypoint !== undefined ? { entrypoint: flags.entrypoint } : {}),
    ...(flags.workdir !== undefined ? { workdir: flags.workdir } : {}),
    ...(flags.user !== undefined ? { user: flags.user } : {}),
    ...(flags.hostname !== undefined ? { hostname: flags.hostname } : {}),
    ...(flags.limitMemory !== undefined ? { memory: flags.limitMemory } : {}),
    ...(flags.limitCpu !== undefined ? { cpus: flags.limitCpu } : {}),
    ...(flags.stopGracePeriod !== undefined ? { stopTimeout: String(graceSeconds(flags.stopGracePeriod)) } : {}),
  };
  const { container } = await runPlan(run, image, command);
  const name = flags.name ?? generatedName(image);
  const problems = isDNS1123Label(name);
  if (problems.length > 0) throw new UsageError(`invalid service name "${name}": ${problems.join('; ')}`);
  const ports = flags.publish.map(parseServicePort);
  const selector = { [serviceNameLabel]: name };
  const constraints = nodeSelector(flags.constraint);
  const spec: ContainerSpec = {
    ...container.spec,
    restartPolicy: restartPolicy(flags.restartCondition),
    // The replicas' own ports: what the Service's targetPorts forward to.
    ...(ports.length > 0
      ? { ports: ports.map((p) => ({ containerPort: Number(p.targetPort), protocol: p.protocol ?? 'TCP' })) }
      : {}),
    ...(Object.keys(constraints).length > 0 ? { nodeSelector: constraints } : {}),
  };
  const labels = parseLabels(flags.label);
  const rollout = strategy(flags.updateParallelism, flags.updateOrder);
  return {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Service',
    metadata: { name, ...(Object.keys(labels).length > 0 ? { labels } : {}) },
    spec: {
      replicas: flags.replicas === undefined ? 1 : replicaCount(flags.replicas),
      selector: { matchLabels: selector },
      template: { metadata: { labels: { ...container.metadata.labels, ...selector } }, spec },
      ...(ports.length > 0 ? { ports } : {}),
      ...(rollout !== undefined ? { strategy: rollout } : {}),
    },
  };
}

/** `10s`, `1m30s` or plain seconds, as whole seconds. */
function graceSeconds(text: string): number {
  const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (/^\d+$/.test(text)) return Number(text);
  if (m === null || text === '') throw new UsageError(`invalid --stop-grace-period "${text}": want like 10s or 1m`);
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0);
}

/** Swarm names an unnamed service at random; berth takes the image's name, which the user can read back. */
function generatedName(image: string): string {
  const last = (image.split('/').pop() ?? 'service').split('@')[0]!.split(':')[0]!;
  const base = last
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return base === '' ? 'service' : base.slice(0, 50);
}

export interface ServiceUpdateFlags {
  readonly image?: string;
  readonly replicas?: string;
  readonly envAdd: readonly string[];
  readonly envRm: readonly string[];
  readonly publishAdd: readonly string[];
  readonly publishRm: readonly string[];
  readonly labelAdd: readonly string[];
  readonly labelRm: readonly string[];
  readonly containerLabelAdd: readonly string[];
  readonly containerLabelRm: readonly string[];
  readonly args?: string;
  readonly limitMemory?: string;
  readonly limitCpu?: string;
  readonly updateParallelism?: string;
  readonly updateOrder?: string;
  /** Roll every replica even when nothing else changed (docker's --force). */
  readonly force?: boolean;
}

/** Annotation `--force` bumps on the template, so the rollout replaces every replica (kubectl rollout restart's). */
export const restartedAtAnnotation = 'berth.dev/restartedAt';

/** The merge patch of the Service `berth service update FLAGS` stands for, from the current object. */
export function updatePatch(current: Service, flags: ServiceUpdateFlags, now = new Date()): Record<string, unknown> {
  const template = current.spec.template;
  const spec: ContainerSpec = { ...template.spec };
  if (flags.image !== undefined) spec.image = flags.image;
  if (flags.envAdd.length > 0 || flags.envRm.length > 0) {
    const env = new Map<string, EnvVar>((spec.env ?? []).map((e) => [e.name, e]));
    for (const name of flags.envRm) env.delete(name.split('=')[0]!);
    for (const text of flags.envAdd) {
      const v = parseEnv(text);
      if (v !== undefined) env.set(v.name, v);
    }
    spec.env = [...env.values()];
  }
  if (flags.args !== undefined) spec.args = flags.args.split(/\s+/).filter((w) => w !== '');
  if (flags.limitMemory !== undefined || flags.limitCpu !== undefined) {
    const limits = { ...spec.resources?.limits };
    if (flags.limitMemory !== undefined) limits['memory'] = parseMemory(flags.limitMemory);
    if (flags.limitCpu !== undefined) limits['cpu'] = parseCpus(flags.limitCpu);
    spec.resources = { ...spec.resources, limits };
  }
  let ports = [...(current.spec.ports ?? [])];
  if (flags.publishRm.length > 0 || flags.publishAdd.length > 0) {
    // --publish-rm takes the published port (or the whole [published:]target form).
    const removed = flags.publishRm.map((p) => parseServicePort(p).port);
    ports = ports.filter((p) => !removed.includes(p.port));
    for (const p of flags.publishAdd.map(parseServicePort)) {
      ports = ports.filter((q) => !(q.port === p.port && (q.protocol ?? 'TCP') === p.protocol));
      ports.push(p);
    }
    // The replicas declare each target port the Service forwards to.
    const containerPorts = (spec.ports ?? []).filter((cp) => cp.name !== undefined || cp.hostPort !== undefined);
    for (const p of ports)
      if (typeof p.targetPort === 'number' && !containerPorts.some((c) => c.containerPort === p.targetPort))
        containerPorts.push({ containerPort: p.targetPort, protocol: p.protocol ?? 'TCP' });
    spec.ports = containerPorts;
  }
  const templateLabels: Record<string, string | null> = {
    ...template.metadata?.labels,
    ...parseLabels(flags.containerLabelAdd),
  };
  // null removes a key in a merge patch; the selector's own labels stay.
  const selectorKeys = Object.keys(current.spec.selector.matchLabels ?? {});
  for (const key of flags.containerLabelRm) if (!selectorKeys.includes(key)) templateLabels[key] = null;
  const annotations = {
    ...template.metadata?.annotations,
    ...(flags.force === true ? { [restartedAtAnnotation]: now.toISOString() } : {}),
  };
  const labels: Record<string, string | null> = parseLabels(flags.labelAdd);
  for (const key of flags.labelRm) labels[key] = null;
  const rollout = strategy(flags.updateParallelism, flags.updateOrder);
  return {
    // The resourceVersion read: a concurrent change is a conflict, not lost.
    metadata: {
      resourceVersion: current.metadata.resourceVersion,
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
    },
    spec: {
      ...(flags.replicas !== undefined ? { replicas: replicaCount(flags.replicas) } : {}),
      // Lists are whole in a merge patch: the template and ports go as computed.
      template: {
        metadata: {
          labels: templateLabels,
          ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
        },
        spec,
      },
      ...(flags.publishAdd.length > 0 || flags.publishRm.length > 0 ? { ports } : {}),
      ...(rollout !== undefined ? { strategy: rollout } : {}),
    },
  };
}

/** `web=5` as docker service scale takes it. */
export function parseScale(text: string): { readonly name: string; readonly replicas: number } {
  const m = /^([^=]+)=(\d+)$/.exec(text);
  if (m === null) throw new UsageError(`invalid scale specifier '${text}'.\nSee 'berth service scale --help'.`);
  return { name: m[1]!, replicas: Number(m[2]) };
}
