// The normalized Compose model `docker compose config` prints: the project's name, every service with its short
// forms written long (command and entrypoint as lists, environment as a map with env_file folded in, ports and
// volumes as mappings, depends_on with its condition, networks as a map), and the top-level networks and volumes
// with the names they get. Keys within each sorted, as compose-go prints them.

import { isAbsolute, resolve } from 'node:path';
import { readComposeDocument } from './compose-file.js';
import { parsePublish, readEnvFile } from '../docker/run-spec.js';
import { dependencies } from './healthcheck.js';

type Obj = Record<string, unknown>;

/** A command or entrypoint as a list: a string split as a shell would (quotes kept together). */
function words(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value))
    out.push(m[1]?.replace(/\\(.)/g, '$1') ?? m[2] ?? m[3] ?? '');
  return out;
}

function environment(value: unknown): Record<string, string | null> {
  if (value === undefined || value === null) return {};
  if (Array.isArray(value))
    return Object.fromEntries(
      value.map((e) => {
        const text = String(e);
        const eq = text.indexOf('=');
        return eq < 0 ? [text, process.env[text] ?? null] : [text.slice(0, eq), text.slice(eq + 1)];
      }),
    );
  return Object.fromEntries(
    Object.entries(value as Obj).map(([k, v]) => [k, v === null ? (process.env[k] ?? null) : String(v)]),
  );
}

function port(p: unknown): Obj {
  if (typeof p === 'object' && p !== null) return { mode: 'ingress', protocol: 'tcp', ...(p as Obj) };
  const parsed = parsePublish(String(p));
  return {
    mode: 'ingress',
    ...(parsed.hostIP !== undefined ? { host_ip: parsed.hostIP } : {}),
    target: parsed.containerPort,
    ...(parsed.hostPort !== undefined ? { published: String(parsed.hostPort) } : {}),
    protocol: (parsed.protocol ?? 'TCP').toLowerCase(),
  };
}

function volume(v: unknown, dir: string): Obj {
  if (typeof v === 'object' && v !== null) return v as Obj;
  const [source = '', target, mode] = String(v).split(':');
  if (target === undefined) return { type: 'volume', target: source, volume: {} };
  const bind = source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
  return {
    type: bind ? 'bind' : 'volume',
    source: bind && !isAbsolute(source) ? resolve(dir, source) : source,
    target,
    ...(mode === 'ro' ? { read_only: true } : {}),
    ...(bind ? { bind: { create_host_path: true } } : { volume: {} }),
  };
}

/** Objects with their keys sorted, all the way down (lists keep their order). */
function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value as Obj)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, sorted(v)]),
  );
}

/** The normalized model of a Compose file's text (`path` anchors relative paths, `projectFlag` is -p). */
export async function normalizedModel(text: string, path: string, projectFlag: string | undefined): Promise<Obj> {
  const { doc, dir, project: name } = await readComposeDocument(text, path, projectFlag);
  const services: Obj = {};
  let usesDefault = false;
  for (const [serviceName, raw] of Object.entries((doc['services'] ?? {}) as Record<string, Obj>)) {
    const s: Obj = { ...raw };
    for (const key of ['command', 'entrypoint']) if (s[key] !== undefined) s[key] = words(s[key]);
    const env: Record<string, string | null> = {};
    const envFiles = s['env_file'] === undefined ? [] : Array.isArray(s['env_file']) ? s['env_file'] : [s['env_file']];
    for (const f of envFiles)
      for (const v of await readEnvFile(
        resolve(dir, String(typeof f === 'object' && f !== null ? (f as Obj)['path'] : f)),
      ))
        env[v.name] = v.value ?? '';
    Object.assign(env, environment(s['environment']));
    delete s['env_file'];
    if (Object.keys(env).length > 0) s['environment'] = env;
    else delete s['environment'];
    if (Array.isArray(s['ports'])) s['ports'] = s['ports'].map(port);
    if (Array.isArray(s['volumes'])) s['volumes'] = s['volumes'].map((v) => volume(v, dir));
    const deps = dependencies(s['depends_on'], serviceName);
    if (deps.size > 0)
      s['depends_on'] = Object.fromEntries([...deps].map(([d, condition]) => [d, { condition, required: true }]));
    if (s['network_mode'] === undefined) {
      const nets = s['networks'];
      if (nets === undefined) usesDefault = true;
      s['networks'] =
        nets === undefined
          ? { default: null }
          : Array.isArray(nets)
            ? Object.fromEntries(nets.map((n) => [String(n), null]))
            : nets;
    }
    services[serviceName] = s;
  }
  const networks: Obj = {};
  const networkDefs = (doc['networks'] ?? {}) as Record<string, Obj | null>;
  if (usesDefault) networks['default'] = { name: `${name}_default` };
  for (const [n, def] of Object.entries(networkDefs))
    networks[n] = { name: def?.['external'] === true ? String(def['name'] ?? n) : `${name}_${n}`, ...def };
  const volumes: Obj = {};
  for (const [v, def] of Object.entries((doc['volumes'] ?? {}) as Record<string, Obj | null>))
    volumes[v] = { name: def?.['external'] === true ? String(def['name'] ?? v) : `${name}_${v}`, ...def };
  // compose-go's order at the top: name, services, networks, volumes, configs, secrets.
  const model: Obj = { name, services: sorted(services) };
  if (Object.keys(networks).length > 0) model['networks'] = sorted(networks);
  if (Object.keys(volumes).length > 0) model['volumes'] = sorted(volumes);
  for (const key of ['configs', 'secrets']) if (doc[key] !== undefined) model[key] = sorted(doc[key]);
  return model;
}
