// A Compose file as berth objects: each service's replicas as Containers, its networks (and the project's default
// one) as Networks, its named volumes as Volumes, all labelled with the project so `down` finds exactly them.
// The basics of the Compose specification only: what a service runs, with, and where; not builds, configs,
// profiles (they are refused by name rather than ignored). A healthcheck is a readiness probe; configs and
// secrets are ConfigMaps and Secrets mounted as files.

import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import type { Container, ContainerPort, ContainerSpec, EnvVar, Network, Volume } from '@berth/api';
import { parse } from 'yaml';
import { interpolate, projectVariables } from './interpolate.js';
import { checkComposeSchema } from './schema-check.js';
import {
  parseCpus,
  parseMemory,
  parsePublish,
  parseRestart,
  parseUserns,
  readEnvFile,
  securityContextOf,
} from '../docker/run-spec.js';
import { LocalFileError, UsageError } from '../errors.js';
import { fileMounts, projectFiles, type FileObject } from './configs-secrets.js';
import { dependencies, healthcheckProbe, type DependencyCondition } from './healthcheck.js';

export const projectLabel = 'berth.dev/compose-project';
export const serviceLabel = 'berth.dev/compose-service';

type Obj = Record<string, unknown>;

export interface ComposeProject {
  readonly name: string;
  readonly networks: Network[];
  readonly volumes: Volume[];
  /** In depends_on order: a service's dependencies come first. */
  readonly containers: Container[];
  /** The top-level configs and secrets the project makes. */
  readonly configMaps: FileObject[];
  readonly secrets: FileObject[];
  /** Each service's depends_on, by the condition each dependency must meet first. */
  readonly dependsOn: ReadonlyMap<string, ReadonlyMap<string, DependencyCondition>>;
}

const candidates = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

/** The file `-f` names, else the first of compose.yaml, compose.yml, docker-compose.y(a)ml in `dir`. */
export async function findComposeFile(file: string | undefined, dir: string): Promise<{ path: string; text: string }> {
  for (const name of file === undefined ? candidates : [file]) {
    const path = resolve(dir, name);
    try {
      return { path, text: await readFile(path, 'utf8') };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new LocalFileError(`open ${path}: ${(e as Error).message}`, e);
    }
  }
  throw new LocalFileError(
    file === undefined
      ? `no configuration file provided: not found (looked for ${candidates.join(', ')} in ${dir})`
      : `open ${resolve(dir, file)}: no such file or directory`,
  );
}

/** A DNS label from a Compose name (`my_app` → `my-app`). */
export function dnsName(text: string): string {
  const name = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  if (name === '') throw new UsageError(`"${text}" cannot be made a name`);
  return name;
}

/** A Compose command or entrypoint: a list as is, a string split into words as a shell would (quotes kept together). */
function words(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string') throw new UsageError(`${field} must be a string or a list`);
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value))
    out.push(m[1]?.replace(/\\(.)/g, '$1') ?? m[2] ?? m[3] ?? '');
  return out;
}

/** environment: as a list of K=V or a map. */
function environment(value: unknown): EnvVar[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value))
    return value.flatMap((e) => {
      const text = String(e);
      const eq = text.indexOf('=');
      if (eq < 0) return process.env[text] === undefined ? [] : [{ name: text, value: process.env[text] ?? '' }];
      return [{ name: text.slice(0, eq), value: text.slice(eq + 1) }];
    });
  return Object.entries(value as Obj).map(([name, v]) => ({
    name,
    value: v === null ? (process.env[name] ?? '') : String(v),
  }));
}

function ports(value: unknown): ContainerPort[] {
  if (!Array.isArray(value)) return [];
  return value.map((p) => {
    if (typeof p === 'string' || typeof p === 'number') return parsePublish(String(p));
    const o = p as Obj;
    return {
      containerPort: Number(o['target']),
      protocol: String(o['protocol'] ?? 'tcp').toUpperCase() as NonNullable<ContainerPort['protocol']>,
      ...(o['published'] !== undefined ? { hostPort: Number(o['published']) } : {}),
      ...(o['host_ip'] !== undefined ? { hostIP: String(o['host_ip']) } : {}),
    };
  });
}

const unsupported = ['build', 'profiles', 'extends'];

/**
 * A Compose file's text parsed, interpolated and checked against the Compose specification's schema, with its folder (which anchors relative paths) and the project's
 * name (`-p`, the file's `name:`, or the folder's), as `up` and `config` alike read it.
 */
export async function readComposeDocument(
  text: string,
  path: string,
  projectFlag: string | undefined,
): Promise<{ doc: Obj; dir: string; project: string }> {
  let parsed: Obj;
  try {
    // Merge keys (`<<: *defaults`), as Compose files use them with x- anchors.
    parsed = (parse(text, { merge: true }) ?? {}) as Obj;
  } catch (e) {
    throw new UsageError(`${path}: ${(e as Error).message.split('\n')[0] ?? ''}`);
  }
  const dir = dirname(path);
  const doc = interpolate(parsed, await projectVariables(dir)) as Obj;
  // Nothing is made from a file the Compose specification refuses.
  await checkComposeSchema(doc, path);
  const project = dnsName(projectFlag ?? (typeof doc['name'] === 'string' ? doc['name'] : basename(dir)));
  return { doc, dir, project };
}

/** The project's objects from the file's text; `dir` anchors relative paths, `name` is `-p` or the folder's name. */
export async function composeProject(
  text: string,
  path: string,
  projectFlag: string | undefined,
): Promise<ComposeProject> {
  const { doc, dir, project } = await readComposeDocument(text, path, projectFlag);
  const labels = { [projectLabel]: project };
  const services = (doc['services'] ?? {}) as Record<string, Obj>;
  if (Object.keys(services).length === 0) throw new UsageError(`${path}: no services`);
  const topVolumes = Object.keys((doc['volumes'] ?? {}) as Obj);
  const topNetworks = Object.keys((doc['networks'] ?? {}) as Obj);
  const networkName = (n: string) => `${project}-${dnsName(n)}`;
  const usesDefault = Object.values(services).some(
    (s) => s['networks'] === undefined && s['network_mode'] === undefined,
  );
  const networkDefs = (doc['networks'] ?? {}) as Record<string, Obj | null>;
  const networks: Network[] = [...(usesDefault ? ['default'] : []), ...topNetworks.filter((n) => n !== 'default')].map(
    (n) => {
      const ipam = (networkDefs[n]?.['ipam'] as Obj | undefined)?.['config'] as Obj[] | undefined;
      const given = ipam?.[0]?.['subnet'];
      return {
        apiVersion: 'berth.dev/v1alpha1',
        kind: 'Network',
        metadata: { name: networkName(n), labels },
        spec: {
          driver: 'bridge',
          // No subnet in the file: the network controller allocates one from its pool.
          ...(typeof given === 'string' ? { subnet: given } : {}),
          ...(networkDefs[n]?.['internal'] === true ? { internal: true } : {}),
        },
      };
    },
  );
  const volumes: Volume[] = topVolumes.map((v) => ({
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Volume',
    metadata: { name: `${project}-${dnsName(v)}`, labels },
    spec: { driver: 'local' },
  }));

  const files = await projectFiles(doc, project, labels, dir, dnsName);
  const containersOf = async (serviceName: string, s: Obj): Promise<Container[]> => {
    for (const key of unsupported)
      if (s[key] !== undefined)
        throw new UsageError(`service ${serviceName}: "${key}" is not supported by berth compose yet`);
    if (typeof s['image'] !== 'string')
      throw new UsageError(`service ${serviceName} has neither an image nor build context specified`);
    const env = new Map<string, EnvVar>();
    const envFiles = s['env_file'] === undefined ? [] : Array.isArray(s['env_file']) ? s['env_file'] : [s['env_file']];
    for (const f of envFiles)
      for (const v of await readEnvFile(
        resolve(dir, String(typeof f === 'object' && f !== null ? (f as Obj)['path'] : f)),
      ))
        env.set(v.name, v);
    for (const v of environment(s['environment'])) env.set(v.name, v);
    const mounts: NonNullable<ContainerSpec['volumeMounts']> = [];
    const sources: NonNullable<ContainerSpec['volumes']> = [];
    for (const [i, v] of ((s['volumes'] ?? []) as unknown[]).entries()) {
      const o: Obj = typeof v === 'string' ? shortVolume(v) : (v as Obj);
      const source = String(o['source'] ?? '');
      const target = String(o['target'] ?? '');
      const readOnly = o['read_only'] === true;
      const bind = o['type'] === 'bind' || source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
      const name = bind ? `bind-${i}` : dnsName(source);
      if (bind) sources.push({ name, hostPath: { path: isAbsolute(source) ? source : resolve(dir, source) } });
      else if (o['type'] === 'tmpfs') sources.push({ name: `tmpfs-${i}`, emptyDir: { medium: 'Memory' } });
      else {
        if (!topVolumes.includes(source))
          throw new UsageError(
            `service "${serviceName}" refers to undefined volume ${source}: invalid compose project`,
          );
        sources.push({ name, volumeRef: { name: `${project}-${dnsName(source)}` } });
      }
      mounts.push({
        name: o['type'] === 'tmpfs' ? `tmpfs-${i}` : name,
        mountPath: target,
        ...(readOnly ? { readOnly } : {}),
      });
    }
    const fileUse = fileMounts(s, files);
    sources.push(...fileUse.volumes);
    mounts.push(...fileUse.mounts);
    const serviceNetworks =
      s['networks'] === undefined
        ? ['default']
        : Array.isArray(s['networks'])
          ? (s['networks'] as string[])
          : Object.keys(s['networks'] as Obj);
    const limits: Record<string, string> = {};
    const deploy = (s['deploy'] ?? {}) as Obj;
    const resourceLimits = ((deploy['resources'] as Obj | undefined)?.['limits'] ?? {}) as Obj;
    const memory = resourceLimits['memory'] ?? s['mem_limit'];
    const cpus = resourceLimits['cpus'] ?? s['cpus'];
    if (memory !== undefined) limits['memory'] = parseMemory(String(memory));
    if (cpus !== undefined) limits['cpu'] = parseCpus(String(cpus));
    if (resourceLimits['pids'] !== undefined || s['pids_limit'] !== undefined)
      limits['pids'] = String(resourceLimits['pids'] ?? s['pids_limit']);
    const command = words(s['command'], `service ${serviceName}: command`);
    const entrypoint = words(s['entrypoint'], `service ${serviceName}: entrypoint`);
    const networkMode = s['network_mode'];
    const probe = healthcheckProbe(s['healthcheck'], serviceName);
    const names = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
    // docker compose's privileges; `user` stays the image's (a name needs the image's /etc/passwd).
    const securityContext = securityContextOf({
      privileged: s['privileged'] === true,
      capAdd: names(s['cap_add']),
      capDrop: names(s['cap_drop']),
      readOnly: s['read_only'] === true,
    });
    const spec: ContainerSpec = {
      image: s['image'],
      restartPolicy: parseRestart(s['restart'] === undefined ? undefined : String(s['restart'])),
      terminationGracePeriodSeconds: 10,
      ...(entrypoint !== undefined ? { command: entrypoint } : {}),
      ...(command !== undefined ? { args: command } : {}),
      ...(env.size > 0 ? { env: [...env.values()] } : {}),
      ...(Array.isArray(s['ports']) ? { ports: ports(s['ports']) } : {}),
      ...(sources.length > 0 ? { volumes: sources, volumeMounts: mounts } : {}),
      ...(networkMode === 'host' || networkMode === 'none'
        ? { networkMode }
        : { networks: serviceNetworks.map((n) => ({ name: networkName(n), aliases: [serviceName] })) }),
      ...(typeof s['working_dir'] === 'string' ? { workingDir: s['working_dir'] } : {}),
      ...(typeof s['hostname'] === 'string' ? { hostname: s['hostname'] } : {}),
      ...(Object.keys(limits).length > 0 ? { resources: { limits } } : {}),
      ...(s['tty'] === true ? { tty: true } : {}),
      ...(s['stdin_open'] === true ? { stdin: true } : {}),
      ...(probe !== undefined ? { readinessProbe: probe } : {}),
      ...(securityContext === undefined ? {} : { securityContext }),
      ...parseUserns(typeof s['userns_mode'] === 'string' ? s['userns_mode'] : undefined),
    };
    const replicas = Number(deploy['replicas'] ?? s['scale'] ?? 1);
    // container_name: the Container's own name (made a DNS label), for a service of one container only.
    const fixed = typeof s['container_name'] === 'string' ? dnsName(s['container_name']) : undefined;
    if (fixed !== undefined && replicas > 1)
      throw new UsageError(
        `services.deploy.replicas: can't set container_name and ${serviceName} as container name must be unique`,
      );
    return Array.from({ length: replicas }, (_, i) => ({
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Container',
      metadata: {
        name: fixed ?? `${project}-${dnsName(serviceName)}-${i + 1}`,
        labels: { ...labels, [serviceLabel]: serviceName },
      },
      spec,
    }));
  };

  // depends_on first: a depth-first walk, refusing cycles.
  const order: string[] = [];
  const dependsOn = new Map<string, ReadonlyMap<string, DependencyCondition>>();
  const visiting = new Set<string>();
  const visit = (name: string) => {
    if (order.includes(name)) return;
    if (visiting.has(name)) throw new UsageError(`dependency cycle detected at service ${name}`);
    const s = services[name];
    if (s === undefined) throw new UsageError(`service ${name} is depended on but not defined`);
    visiting.add(name);
    const deps = dependencies(s['depends_on'], name);
    dependsOn.set(name, deps);
    for (const d of deps.keys()) visit(d);
    visiting.delete(name);
    order.push(name);
  };
  for (const name of Object.keys(services)) visit(name);
  const containers: Container[] = [];
  for (const name of order) containers.push(...(await containersOf(name, services[name]!)));
  return {
    name: project,
    networks,
    volumes,
    containers,
    configMaps: files.configMaps,
    secrets: files.secrets,
    dependsOn,
  };
}

/** `source:target[:ro]`, `target` alone (an anonymous volume is not supported). */
function shortVolume(text: string): Obj {
  const parts = text.split(':');
  if (parts.length < 2)
    throw new UsageError(`volume "${text}": anonymous volumes are not supported by berth compose yet`);
  return { source: parts[0], target: parts[1], read_only: parts[2] === 'ro' };
}
