// docker run's flags as a Container object (and the Volumes it names): pure translation, checked before any request.

import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { Container, ContainerPort, ContainerSpec, EnvVar } from '@berth/api';
import { aggregateMessage, isDNS1123Label, validateLabels } from '@berth/api/helpers';
import { LocalFileError, UsageError } from '../errors.js';

/** The flags of `berth run` (and `berth create`) as commander hands them over. */
export interface RunFlags {
  readonly detach?: boolean;
  readonly interactive?: boolean;
  readonly tty?: boolean;
  readonly rm?: boolean;
  readonly name?: string;
  readonly publish: readonly string[];
  readonly env: readonly string[];
  readonly envFile: readonly string[];
  readonly volume: readonly string[];
  readonly network?: string;
  readonly restart?: string;
  readonly memory?: string;
  readonly cpus?: string;
  readonly pidsLimit?: string;
  readonly workdir?: string;
  readonly user?: string;
  readonly entrypoint?: string;
  readonly label: readonly string[];
  readonly hostname?: string;
  readonly pull?: string;
  readonly stopTimeout?: string;
  readonly privileged?: boolean;
  readonly capAdd?: readonly string[];
  readonly capDrop?: readonly string[];
  readonly readOnly?: boolean;
  /** Podman's `--userns`: `auto` is a user namespace of the container's own (hostUsers: false), `host` the node's. */
  readonly userns?: string;
}

/** `[ip:]hostPort:containerPort[/tcp|udp|sctp]` or `containerPort[/proto]`, as docker's -p takes it. */
export function parsePublish(text: string): ContainerPort {
  const m = /^(?:(?:(\[[^\]]+\]|[^:]*):)?(\d*):)?(\d+)(?:\/(tcp|udp|sctp))?$/i.exec(text);
  if (m === null) throw new UsageError(`invalid -p "${text}": want [ip:]hostPort:containerPort[/udp]`);
  const port = (p: string, what: string): number => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 1 || n > 65535)
      throw new UsageError(`invalid -p "${text}": ${what} ${p} is not a port (1-65535)`);
    return n;
  };
  const ip = m[1]?.replace(/^\[|\]$/g, '');
  return {
    containerPort: port(m[3]!, 'container port'),
    protocol: (m[4]?.toUpperCase() ?? 'TCP') as NonNullable<ContainerPort['protocol']>,
    ...(m[2] !== undefined && m[2] !== '' ? { hostPort: port(m[2], 'host port') } : {}),
    ...(ip !== undefined && ip !== '' ? { hostIP: ip } : {}),
  };
}

/** `-e K=V` (or `-e K`, taken from this environment as docker does; unset means not passed). */
export function parseEnv(text: string, environment: NodeJS.ProcessEnv = process.env): EnvVar | undefined {
  const eq = text.indexOf('=');
  const name = eq < 0 ? text : text.slice(0, eq);
  if (name === '') throw new UsageError(`invalid environment variable "${text}": the name is empty`);
  if (eq >= 0) return { name, value: text.slice(eq + 1) };
  const value = environment[name];
  return value === undefined ? undefined : { name, value };
}

/** An --env-file: KEY=VALUE lines, `#` comments and blank lines skipped, a bare KEY taken from the environment. */
export async function readEnvFile(path: string): Promise<EnvVar[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new LocalFileError(
      `open ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
      e,
    );
  }
  const vars: EnvVar[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const v = parseEnv(line);
    if (v !== undefined) vars.push(v);
  }
  return vars;
}

/** docker's byte sizes (`512m`, `1g`, `100k`, `1024`; binary units) as a Kubernetes quantity. */
export function parseMemory(text: string): string {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(text.trim());
  if (m === null) throw new UsageError(`invalid --memory "${text}": want a size like 512m or 1g`);
  const unit = m[2]!.toLowerCase();
  const suffix: Record<string, string> = { '': '', b: '', k: 'Ki', m: 'Mi', g: 'Gi', t: 'Ti' };
  if (m[1]!.includes('.')) {
    const factor: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
    return String(Math.round(Number(m[1]) * (factor[unit] ?? 1)));
  }
  return `${m[1]}${suffix[unit] ?? ''}`;
}

/** `--cpus 1.5` as millicores (`1500m`). */
export function parseCpus(text: string): string {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new UsageError(`invalid --cpus "${text}": want a number of CPUs like 0.5 or 2`);
  return `${Math.round(n * 1000)}m`;
}

/** docker's --restart as a restartPolicy; docker's default ("no") is Never. */
export function parseRestart(text: string | undefined): NonNullable<ContainerSpec['restartPolicy']> {
  if (text === undefined || text === 'no') return 'Never';
  if (text === 'always' || text === 'unless-stopped') return 'Always';
  if (/^on-failure(:\d+)?$/.test(text)) return 'OnFailure';
  throw new UsageError(`invalid restart policy "${text}": want no, always, unless-stopped or on-failure[:N]`);
}

/** --pull missing|always|never as an imagePullPolicy. */
export function parsePull(text: string | undefined): ContainerSpec['imagePullPolicy'] {
  if (text === undefined) return undefined;
  const policies: Record<string, ContainerSpec['imagePullPolicy']> = {
    missing: 'IfNotPresent',
    always: 'Always',
    never: 'Never',
  };
  const policy = policies[text];
  if (policy === undefined) throw new UsageError(`invalid --pull "${text}": want missing, always or never`);
  return policy;
}

/** `-u uid[:gid]`; names need the image's /etc/passwd, which the API does not carry. */
export function parseUser(text: string): NonNullable<ContainerSpec['securityContext']> {
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (m === null) throw new UsageError(`invalid -u "${text}": berth takes a numeric uid[:gid]`);
  return { runAsUser: Number(m[1]), ...(m[2] !== undefined ? { runAsGroup: Number(m[2]) } : {}) };
}

/** --privileged, --cap-add, --cap-drop, --read-only and -u as a securityContext; undefined when none is given. */
export function securityContextOf(
  flags: Pick<RunFlags, 'user' | 'privileged' | 'capAdd' | 'capDrop' | 'readOnly'>,
): ContainerSpec['securityContext'] {
  const add = flags.capAdd ?? [];
  const drop = flags.capDrop ?? [];
  const sc: NonNullable<ContainerSpec['securityContext']> = {
    ...(flags.user !== undefined ? parseUser(flags.user) : {}),
    ...(flags.privileged === true ? { privileged: true } : {}),
    ...(add.length > 0 || drop.length > 0
      ? {
          capabilities: {
            ...(add.length > 0 ? { add: [...add] } : {}),
            ...(drop.length > 0 ? { drop: [...drop] } : {}),
          },
        }
      : {}),
    ...(flags.readOnly === true ? { readOnlyRootFilesystem: true } : {}),
  };
  return Object.keys(sc).length > 0 ? sc : undefined;
}

/** --userns auto|host as hostUsers. */
export function parseUserns(text: string | undefined): Pick<ContainerSpec, 'hostUsers'> {
  if (text === undefined || text === 'host' || text === '') return {};
  if (text === 'auto') return { hostUsers: false };
  throw new UsageError(`invalid --userns "${text}": want auto (a user namespace of its own) or host`);
}

export interface VolumeUse {
  readonly volume: NonNullable<ContainerSpec['volumes']>[number];
  readonly mount: NonNullable<ContainerSpec['volumeMounts']>[number];
  /** The named Volume it uses (created if missing, as docker does), when it is one. */
  readonly namedVolume?: string;
}

/** `-v name:/path[:ro]` (a berth Volume) or `-v /host/dir:/path[:ro]` (hostPath); `index` names the entry. */
export function parseVolume(text: string, index: number): VolumeUse {
  const parts = text.split(':');
  if (parts.length < 2 || parts.length > 3)
    throw new UsageError(`invalid -v "${text}": want NAME:/path[:ro] or /host/dir:/path[:ro]`);
  const [source, target, mode] = parts as [string, string, string | undefined];
  if (!isAbsolute(target)) throw new UsageError(`invalid -v "${text}": the mount path ${target} is not absolute`);
  if (mode !== undefined && mode !== 'ro' && mode !== 'rw')
    throw new UsageError(`invalid -v "${text}": mode "${mode}" is neither ro nor rw`);
  const readOnly = mode === 'ro';
  if (isAbsolute(source)) {
    const name = `host-${index}`;
    return {
      volume: { name, hostPath: { path: source } },
      mount: { name, mountPath: target, ...(readOnly ? { readOnly } : {}) },
    };
  }
  const problems = isDNS1123Label(source);
  if (problems.length > 0) throw new UsageError(`invalid volume name "${source}": ${problems.join('; ')}`);
  return {
    volume: { name: source, volumeRef: { name: source } },
    mount: { name: source, mountPath: target, ...(readOnly ? { readOnly } : {}) },
    namedVolume: source,
  };
}

/** `--label k=v` as labels, validated as Kubernetes validates them. */
export function parseLabels(texts: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const text of texts) {
    const eq = text.indexOf('=');
    labels[eq < 0 ? text : text.slice(0, eq)] = eq < 0 ? '' : text.slice(eq + 1);
  }
  const problems = validateLabels(labels, 'metadata.labels');
  if (problems.length > 0) throw new UsageError(`invalid --label: ${aggregateMessage(problems)}`);
  return labels;
}

export interface RunPlan {
  readonly container: Container;
  /** Named Volumes the container mounts, created first when missing. */
  readonly volumes: readonly string[];
}

/** The Container `berth run FLAGS IMAGE [COMMAND...]` stands for. */
export async function runPlan(flags: RunFlags, image: string, command: readonly string[]): Promise<RunPlan> {
  if (flags.name !== undefined) {
    const problems = isDNS1123Label(flags.name);
    if (problems.length > 0) throw new UsageError(`invalid container name "${flags.name}": ${problems.join('; ')}`);
  }
  if (flags.rm === true && flags.restart !== undefined && flags.restart !== 'no')
    throw new UsageError('conflicting options: cannot specify both --restart and --rm');
  const env = new Map<string, EnvVar>();
  for (const file of flags.envFile) for (const v of await readEnvFile(file)) env.set(v.name, v);
  for (const e of flags.env) {
    const v = parseEnv(e);
    if (v !== undefined) env.set(v.name, v);
  }
  const uses = flags.volume.map((v, i) => parseVolume(v, i));
  const ports = flags.publish.map(parsePublish);
  const limits: Record<string, string> = {};
  if (flags.memory !== undefined) limits['memory'] = parseMemory(flags.memory);
  if (flags.cpus !== undefined) limits['cpu'] = parseCpus(flags.cpus);
  if (flags.pidsLimit !== undefined) {
    if (!/^\d+$/.test(flags.pidsLimit) || Number(flags.pidsLimit) < 1)
      throw new UsageError(`invalid --pids-limit "${flags.pidsLimit}": want a positive number`);
    limits['pids'] = flags.pidsLimit;
  }
  let stopTimeout = 10;
  if (flags.stopTimeout !== undefined) {
    if (!/^\d+$/.test(flags.stopTimeout))
      throw new UsageError(`invalid --stop-timeout "${flags.stopTimeout}": want seconds`);
    stopTimeout = Number(flags.stopTimeout);
  }
  const network = flags.network;
  const networkSpec: Partial<ContainerSpec> =
    network === undefined || network === 'bridge' || network === 'default'
      ? {}
      : network === 'host' || network === 'none'
        ? { networkMode: network }
        : { networks: [{ name: network }] };
  const pullPolicy = parsePull(flags.pull);
  const securityContext = securityContextOf(flags);
  const spec: ContainerSpec = {
    image,
    restartPolicy: parseRestart(flags.restart),
    // docker stop's default wait before SIGKILL (Kubernetes' is 30 s).
    terminationGracePeriodSeconds: stopTimeout,
    ...(pullPolicy !== undefined ? { imagePullPolicy: pullPolicy } : {}),
    ...(flags.entrypoint !== undefined ? { command: flags.entrypoint === '' ? [] : [flags.entrypoint] } : {}),
    ...(command.length > 0 ? { args: [...command] } : {}),
    ...(flags.workdir !== undefined ? { workingDir: flags.workdir } : {}),
    ...(env.size > 0 ? { env: [...env.values()] } : {}),
    ...(ports.length > 0 ? { ports } : {}),
    ...(Object.keys(limits).length > 0 ? { resources: { limits } } : {}),
    ...(uses.length > 0 ? { volumes: uses.map((u) => u.volume), volumeMounts: uses.map((u) => u.mount) } : {}),
    ...networkSpec,
    ...(flags.hostname !== undefined ? { hostname: flags.hostname } : {}),
    ...(securityContext === undefined ? {} : { securityContext }),
    ...parseUserns(flags.userns),
    ...(flags.interactive === true ? { stdin: true } : {}),
    ...(flags.tty === true ? { tty: true } : {}),
    // Detached, nobody waits to remove it: the auto-remove controller does once it exits (docker's daemon does).
    ...(flags.rm === true && flags.detach === true ? { autoRemove: true } : {}),
  };
  const labels = parseLabels(flags.label);
  const container: Container = {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: {
      ...(flags.name !== undefined ? { name: flags.name } : { generateName: `${generatedPrefix(image)}-` }),
      ...(Object.keys(labels).length > 0 ? { labels } : {}),
    },
    spec,
  };
  return {
    container,
    volumes: [...new Set(uses.flatMap((u) => (u.namedVolume === undefined ? [] : [u.namedVolume])))],
  };
}

/** `127.0.0.1:5000/library/busybox:latest` → `busybox`, a name prefix the server completes. */
function generatedPrefix(image: string): string {
  const last = image.split('/').pop() ?? 'container';
  const base = last
    .split('@')[0]!
    .split(':')[0]!
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return (base === '' ? 'container' : base).slice(0, 40);
}
