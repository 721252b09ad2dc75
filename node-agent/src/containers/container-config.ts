// Maps a Container's spec and its image's config onto the runtime's ContainerConfig, as kubelet does for a Pod.
//
// command/args replace the image's Entrypoint/Cmd the Kubernetes way; env is image Env, then envFrom, then env
// (with $(VAR) expansion and values from ConfigMaps, Secrets and the Container's own fields); limits come from
// `resources.limits`. Anything that cannot be resolved is a CreateContainerConfigError with a message for users.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { toBytes, toCount, toMillicores, type Container, type EnvVar, type Quantity } from '@berth/api';
import type { ImageConfig } from '../distribution/distribution.js';
import { parseExecUser, resolveExecUser } from '../exec/exec-user.js';
import { isRuntimeError } from '../runtime/errors.js';
import type { ContainerConfig, ContainerResources } from '../runtime/runtime.js';
import { parseSeccompProfile, type SeccompProfile } from '../runtime/seccomp.js';
import { AgentError } from './errors.js';

/** Reads ConfigMaps and Secrets of the Container's namespace (undefined when one does not exist). */
export interface EnvSources {
  configMap(name: string): Promise<Record<string, string> | undefined>;
  secret(name: string): Promise<Record<string, string> | undefined>;
}

const configError = (message: string, cause?: unknown) =>
  new AgentError('CreateContainerConfigError', message, cause === undefined ? {} : { cause });

/** A C identifier-ish name, as Kubernetes accepts for envFrom keys (IsEnvVarName: no '=' and printable). */
const envNamePattern = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * Expands `$(VAR)` from `vars`; `$$` is a literal `$`; an unknown reference stays as written
 * (Kubernetes' third_party/forked/golang/expansion).
 */
export function expandVariables(input: string, vars: ReadonlyMap<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const value = vars.get(name);
      out += value ?? `$(${name})`;
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

function fieldValue(container: Container, fieldPath: string): string {
  const meta = container.metadata;
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m !== null) return (m[1] === 'labels' ? meta.labels : meta.annotations)?.[m[2] ?? ''] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? '';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'spec.nodeName':
      return container.spec.nodeName ?? '';
    case 'status.ips[0].ip':
      return container.status?.ips?.[0]?.ip ?? '';
    default:
      throw configError(`env fieldRef: unsupported fieldPath ${JSON.stringify(fieldPath)}`);
  }
}

async function envVarValue(
  container: Container,
  v: EnvVar,
  vars: ReadonlyMap<string, string>,
  sources: EnvSources,
): Promise<string | undefined> {
  const from = v.valueFrom;
  if (from === undefined) return expandVariables(v.value ?? '', vars);
  if (from.configMapKeyRef !== undefined) {
    const ref = from.configMapKeyRef;
    const data = await sources.configMap(ref.name);
    if (data === undefined) {
      if (ref.optional === true) return undefined;
      throw configError(`configmap "${ref.name}" not found (env ${v.name})`);
    }
    const value = data[ref.key];
    if (value === undefined) {
      if (ref.optional === true) return undefined;
      throw configError(
        `couldn't find key ${ref.key} in ConfigMap ${container.metadata.namespace ?? ''}/${ref.name} (env ${v.name})`,
      );
    }
    return value;
  }
  if (from.secretKeyRef !== undefined) {
    const ref = from.secretKeyRef;
    const data = await sources.secret(ref.name);
    if (data === undefined) {
      if (ref.optional === true) return undefined;
      throw configError(`secret "${ref.name}" not found (env ${v.name})`);
    }
    const value = data[ref.key];
    if (value === undefined) {
      if (ref.optional === true) return undefined;
      throw configError(
        `couldn't find key ${ref.key} in Secret ${container.metadata.namespace ?? ''}/${ref.name} (env ${v.name})`,
      );
    }
    return value;
  }
  if (from.fieldRef !== undefined) return fieldValue(container, from.fieldRef.fieldPath);
  return '';
}

/** The Container's own variables (envFrom, then env), in Kubernetes' order; image Env is not part of expansion. */
export async function resolveEnv(container: Container, sources: EnvSources): Promise<Map<string, string>> {
  const vars = new Map<string, string>();
  for (const src of container.spec.envFrom ?? []) {
    const prefix = src.prefix ?? '';
    let data: Record<string, string> | undefined;
    if (src.configMapRef !== undefined) {
      data = await sources.configMap(src.configMapRef.name);
      if (data === undefined && src.configMapRef.optional !== true)
        throw configError(`configmap "${src.configMapRef.name}" not found (envFrom)`);
    } else if (src.secretRef !== undefined) {
      data = await sources.secret(src.secretRef.name);
      if (data === undefined && src.secretRef.optional !== true)
        throw configError(`secret "${src.secretRef.name}" not found (envFrom)`);
    }
    for (const [k, v] of Object.entries(data ?? {})) {
      if (envNamePattern.test(prefix + k)) vars.set(prefix + k, v);
    }
  }
  for (const v of container.spec.env ?? []) {
    const value = await envVarValue(container, v, vars, sources);
    if (value !== undefined) vars.set(v.name, value);
  }
  return vars;
}

function imageEnv(image: ImageConfig): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of image.config?.Env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

/** The argv Kubernetes runs: command replaces Entrypoint (and drops Cmd), args replace Cmd. */
export function containerArgs(container: Container, image: ImageConfig, vars: ReadonlyMap<string, string>): string[] {
  const { command, args } = container.spec;
  const entrypoint = command ?? [...(image.config?.Entrypoint ?? [])];
  const cmd = args ?? (command !== undefined ? [] : [...(image.config?.Cmd ?? [])]);
  const expand = (s: string) => (command !== undefined || args !== undefined ? expandVariables(s, vars) : s);
  const argv = [...entrypoint.map(expand), ...cmd.map(expand)];
  if (argv.length === 0)
    throw configError(
      `no command: the Container sets neither command nor args and image ${container.spec.image} has no Entrypoint or Cmd`,
    );
  return argv;
}

function quantity(what: string, q: Quantity, convert: (q: Quantity) => number): number {
  let n: number;
  try {
    n = convert(q);
  } catch (err) {
    throw configError(`resources.limits.${what}: ${(err as Error).message}`, err);
  }
  if (!(n > 0)) throw configError(`resources.limits.${what} must be positive, got ${String(q)}`);
  return n;
}

export function containerResources(container: Container): ContainerResources {
  const limits = container.spec.resources?.limits ?? {};
  return {
    ...(limits.cpu !== undefined ? { cpuMillicores: quantity('cpu', limits.cpu, toMillicores) } : {}),
    ...(limits.memory !== undefined ? { memoryBytes: quantity('memory', limits.memory, toBytes) } : {}),
    ...(limits.pids !== undefined ? { pids: quantity('pids', limits.pids, toCount) } : {}),
  };
}

/**
 * The image's User (`uid`, `uid:gid`, `name`, `name:group`) resolved in the rootfs' /etc files as docker resolves
 * it (as `exec -u` does: supplementary groups included), else root; securityContext's runAsUser/runAsGroup win,
 * and then the image's supplementary groups, which were the image user's, are not kept.
 */
export async function containerUser(
  container: Container,
  image: ImageConfig,
  rootfs: string,
): Promise<NonNullable<ContainerConfig['user']>> {
  const sc = container.spec.securityContext;
  const user = image.config?.User ?? '';
  let resolved: NonNullable<ContainerConfig['user']> = { uid: 0, gid: 0 };
  if (user !== '') {
    const spec = parseExecUser(user);
    if (spec === undefined)
      throw configError(`image ${container.spec.image} has a malformed User ${JSON.stringify(user)}`);
    try {
      resolved = await resolveExecUser(rootfs, spec);
    } catch (err) {
      if (isRuntimeError(err)) throw configError(`image ${container.spec.image}: ${err.message}`, err);
      throw err;
    }
  }
  if (sc?.runAsUser !== undefined || sc?.runAsGroup !== undefined)
    resolved = { uid: sc.runAsUser ?? resolved.uid, gid: sc.runAsGroup ?? resolved.gid };
  if (sc?.runAsNonRoot === true && resolved.uid === 0)
    throw configError('securityContext.runAsNonRoot is set but the container would run as root (uid 0)');
  return resolved;
}

/** A Localhost profile from the node's profile directory (kubelet's <root-dir>/seccomp), never from outside it. */
async function localhostProfile(root: string | undefined, name: string | undefined): Promise<SeccompProfile> {
  const field = 'securityContext.seccompProfile.localhostProfile';
  if (root === undefined) throw configError(`${field}: this node has no directory of seccomp profiles`);
  if (name === undefined || name === '' || path.isAbsolute(name) || name.split('/').includes('..'))
    throw configError(
      `${field} must name a file under the node's seccomp directory, got ${JSON.stringify(name ?? '')}`,
    );
  const file = path.join(root, name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw configError(`${field}: cannot read ${file}: ${(err as Error).message}`, err);
  }
  const profile = parseSeccompProfile(text);
  if (typeof profile === 'string') throw configError(`${field}: ${file} is no seccomp profile: ${profile}`);
  return profile;
}

/** The privileges a securityContext asks for (admission decided whether the namespace allows them). */
async function securityOptions(
  container: Container,
  seccompRoot: string | undefined,
): Promise<Partial<ContainerConfig>> {
  const sc = container.spec.securityContext;
  const profile = sc?.seccompProfile;
  const localhost =
    profile?.type === 'Localhost'
      ? { localhost: await localhostProfile(seccompRoot, profile.localhostProfile) }
      : undefined;
  return {
    ...(sc?.capabilities === undefined
      ? {}
      : {
          capabilities: {
            ...(sc.capabilities.add === undefined ? {} : { add: sc.capabilities.add }),
            ...(sc.capabilities.drop === undefined ? {} : { drop: sc.capabilities.drop }),
          },
        }),
    ...(sc?.privileged === true ? { privileged: true } : {}),
    ...(profile?.type === 'Unconfined' ? { seccomp: 'Unconfined' as const } : {}),
    ...(localhost === undefined ? {} : { seccomp: localhost }),
    ...(sc?.allowPrivilegeEscalation === true ? { allowPrivilegeEscalation: true } : {}),
  };
}

/** The whole mapping; `rootfs` is where the snapshot is mounted (read for user names). */
export async function containerConfigFor(
  container: Container,
  image: ImageConfig,
  rootfs: string,
  sources: EnvSources,
  options: { readonly seccompRoot?: string } = {},
): Promise<ContainerConfig> {
  const vars = await resolveEnv(container, sources);
  const env = imageEnv(image);
  for (const [k, v] of vars) env.set(k, v);
  const spec = container.spec;
  const workingDir =
    spec.workingDir !== undefined && spec.workingDir !== '' ? spec.workingDir : image.config?.WorkingDir || '/';
  if (!workingDir.startsWith('/'))
    throw configError(`workingDir ${JSON.stringify(workingDir)} must be an absolute path`);
  const hostname = (spec.hostname ?? container.metadata.name ?? '')
    .slice(0, 63)
    .replace(/[^a-zA-Z0-9.-]/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return {
    args: containerArgs(container, image, vars),
    env: Object.fromEntries(env),
    cwd: workingDir,
    user: await containerUser(container, image, rootfs),
    ...(hostname !== '' ? { hostname } : {}),
    tty: spec.tty === true,
    stdin: spec.stdin === true,
    resources: containerResources(container),
    readonlyRootfs: spec.securityContext?.readOnlyRootFilesystem === true,
    ...(await securityOptions(container, options.seccompRoot)),
    rootfs,
  };
}
