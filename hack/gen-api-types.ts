// Generates api/src/generated/ (TypeScript types and the CRD objects) from crds/*.yaml; `--check` fails if stale.
// Usage: node --import=tsx hack/gen-api-types.ts [--check] [--out DIR]
//
// crds/ is the single source of truth for berth's schemas. Before generating, this checks the rules the
// CRDs promise: a description on every field, list-map keys that are required or defaulted, and a Service
// template whose spec is exactly the Container spec (the YAML repeats it because a CRD cannot $ref).
import { readFile, readdir, writeFile, mkdir, rm } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { compile, type JSONSchema } from 'json-schema-to-typescript';

interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  required?: string[];
  anyOf?: Schema[];
  pattern?: string;
  default?: unknown;
  tsType?: string;
  title?: string;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  [key: string]: unknown;
}

interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: 'Namespaced' | 'Cluster';
    names: { kind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    versions: { name: string; schema: { openAPIV3Schema: Schema } }[];
  };
}

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const crdDir = join(root, 'crds');
const defaultOutDir = join(root, 'api', 'src', 'generated');
const GROUP = 'berth.dev';
const VERSION = 'v1alpha1';

/** Names for sub-schemas worth a type of their own, by kind and dotted path from the root schema. */
const NAMED: Record<string, Record<string, string>> = {
  Container: {
    spec: 'ContainerSpec',
    status: 'ContainerStatus',
    'spec.env[]': 'EnvVar',
    'spec.env[].valueFrom': 'EnvVarSource',
    'spec.envFrom[]': 'EnvFromSource',
    'spec.ports[]': 'ContainerPort',
    'spec.resources': 'ResourceRequirements',
    'spec.resources.limits': 'ResourceList',
    'spec.resources.requests': '=ResourceList',
    'spec.volumeMounts[]': 'VolumeMount',
    'spec.volumes[]': 'ContainerVolume',
    'spec.networks[]': 'NetworkAttachment',
    'spec.livenessProbe': 'Probe',
    'spec.readinessProbe': '=Probe',
    'spec.startupProbe': '=Probe',
    'spec.securityContext': 'SecurityContext',
    'status.ips[]': 'ContainerIP',
  },
  Service: {
    spec: 'ServiceSpec',
    status: 'ServiceStatus',
    'spec.template': 'ContainerTemplate',
    'spec.template.spec': '=ContainerSpec',
    'spec.selector': '=LabelSelector',
    'spec.ports[]': 'ServicePort',
    'spec.strategy': 'ServiceStrategy',
    'status.endpoints[]': 'ServiceEndpoint',
  },
  Volume: { spec: 'VolumeSpec', status: 'VolumeStatus' },
  Network: { spec: 'NetworkSpec', status: 'NetworkStatus' },
  Image: {
    spec: 'ImageSpec',
    status: 'ImageStatus',
    'spec.build': 'ImageBuild',
    'status.layers[]': 'ImageLayer',
    'status.nodes[]': 'ImageNodeStatus',
  },
  GitRepository: {
    spec: 'GitRepositorySpec',
    status: 'GitRepositoryStatus',
    'spec.ref': 'GitRepositoryRef',
    'spec.secretRef': 'LocalObjectReference',
    'spec.webhookSecretRef': '=LocalObjectReference',
    'status.artifact': 'Artifact',
  },
  Sync: {
    spec: 'SyncSpec',
    status: 'SyncStatus',
    'spec.sourceRef': 'SourceReference',
    'spec.dependsOn[]': 'DependencyReference',
    'status.inventory': 'SyncInventory',
    'status.inventory.entries[]': 'InventoryEntry',
  },
};

/** Types the generated files import rather than declare, and where from (relative to api/src/generated/). */
const IMPORTABLE: Record<string, string> = {
  ObjectMeta: '../meta.js',
  Condition: '../meta.js',
  LabelSelector: '../meta.js',
  Quantity: '../meta.js',
  IntOrString: '../meta.js',
  ContainerSpec: './container.js',
  ResourceList: './container.js',
};

async function loadCrds(): Promise<{ file: string; crd: Crd }[]> {
  const files = (await readdir(crdDir)).filter((f) => f.endsWith('.yaml')).sort();
  return Promise.all(
    files.map(async (file) => ({ file, crd: parse(await readFile(join(crdDir, file), 'utf8')) as Crd })),
  );
}

/** Every rule a berth CRD must follow that a Kubernetes apiserver would not check for us. */
function lint(file: string, crd: Crd): string[] {
  const problems: string[] = [];
  if (crd.apiVersion !== 'apiextensions.k8s.io/v1' || crd.kind !== 'CustomResourceDefinition') {
    problems.push(`${file}: not an apiextensions.k8s.io/v1 CustomResourceDefinition`);
  }
  if (crd.spec.group !== GROUP) problems.push(`${file}: group must be ${GROUP}`);
  if (crd.metadata.name !== `${crd.spec.names.plural}.${crd.spec.group}`) {
    problems.push(`${file}: metadata.name must be <plural>.<group>`);
  }
  const version = crd.spec.versions[0];
  if (crd.spec.versions.length !== 1 || version?.name !== VERSION) problems.push(`${file}: one version, ${VERSION}`);
  const walk = (s: Schema, path: string): void => {
    const intOrString = s['x-kubernetes-int-or-string'] === true;
    if (!s.type && !intOrString) problems.push(`${file}: ${path || '<root>'} has no type`);
    for (const [name, child] of Object.entries(s.properties ?? {})) {
      const p = path ? `${path}.${name}` : name;
      if (!child.description) problems.push(`${file}: ${p} has no description`);
      walk(child, p);
    }
    if (s.type === 'array') {
      if (!s['x-kubernetes-list-type']) problems.push(`${file}: ${path} has no x-kubernetes-list-type`);
      if (s.items) walk(s.items, `${path}[]`);
      if (s['x-kubernetes-list-type'] === 'map') {
        for (const key of s['x-kubernetes-list-map-keys'] ?? []) {
          const keySchema = s.items?.properties?.[key];
          if (!keySchema) problems.push(`${file}: ${path} map key ${key} is not a property`);
          else if (!s.items?.required?.includes(key) && keySchema.default === undefined) {
            problems.push(`${file}: ${path} map key ${key} must be required or defaulted`);
          }
        }
      }
    }
    if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${path}{}`);
  };
  if (version) walk(version.schema.openAPIV3Schema, '');
  return problems;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

/** Rewrites a CRD schema into what json-schema-to-typescript should see: titles, shared types, literal kinds. */
function prepare(crd: Crd): Schema {
  const kind = crd.spec.names.kind;
  const names = NAMED[kind] ?? {};
  const schema = clone(crd.spec.versions[0]!.schema.openAPIV3Schema);
  const visit = (s: Schema, path: string): Schema => {
    const name = names[path];
    if (name?.startsWith('='))
      return { tsType: name.slice(1), ...(s.description ? { description: s.description } : {}) };
    if (s['x-kubernetes-int-or-string']) {
      return {
        tsType: s.pattern ? 'Quantity' : 'IntOrString',
        ...(s.description ? { description: s.description } : {}),
      };
    }
    if (path.endsWith('conditions[]') && !name) return { tsType: 'Condition' };
    if (name) s.title = name;
    for (const [key, child] of Object.entries(s.properties ?? {})) {
      s.properties![key] = visit(child, path ? `${path}.${key}` : key);
    }
    if (s.items) s.items = visit(s.items, `${path}[]`);
    if (typeof s.additionalProperties === 'object') s.additionalProperties = visit(s.additionalProperties, `${path}{}`);
    return s;
  };
  const out = visit(schema, '');
  out.title = kind;
  out.properties!['apiVersion'] = {
    tsType: `'${GROUP}/${VERSION}'`,
    description: out.properties!['apiVersion']!.description!,
  };
  out.properties!['kind'] = { tsType: `'${kind}'`, description: out.properties!['kind']!.description! };
  out.properties!['metadata'] = { tsType: 'ObjectMeta', description: out.properties!['metadata']!.description! };
  out.required = ['apiVersion', 'kind', 'metadata', ...(out.required ?? [])];
  return out;
}

function banner(source: string): string {
  return `// Code generated by hack/gen-api-types.ts from ${source}. DO NOT EDIT; run \`npm run gen\`.\n`;
}

async function generate(): Promise<Map<string, string>> {
  const crds = await loadCrds();
  const problems = crds.flatMap(({ file, crd }) => lint(file, crd));
  const container = crds.find((c) => c.crd.spec.names.kind === 'Container')?.crd;
  const service = crds.find((c) => c.crd.spec.names.kind === 'Service')?.crd;
  if (container && service) {
    const a = container.spec.versions[0]?.schema.openAPIV3Schema.properties?.['spec'];
    const b =
      service.spec.versions[0]?.schema.openAPIV3Schema.properties?.['spec']?.properties?.['template']?.properties?.[
        'spec'
      ];
    if (!isDeepStrictEqual(a, b)) problems.push('service.yaml: spec.template.spec must equal container.yaml spec');
  } else {
    problems.push('crds/: container.yaml and service.yaml are both required');
  }
  if (problems.length) throw new Error(`crds/ breaks the rules:\n  ${problems.join('\n  ')}`);

  const files = new Map<string, string>();
  const exports: string[] = [];
  for (const { file, crd } of crds) {
    const kind = crd.spec.names.kind;
    const base = file.replace(/\.yaml$/, '');
    let body = await compile(prepare(crd) as JSONSchema, kind, {
      bannerComment: '',
      additionalProperties: false,
      unknownAny: true,
      format: true,
      style: { singleQuote: true, printWidth: 120, trailingComma: 'all' },
    });
    // Shared types (metadata, conditions, the Container spec in a Service template) are imported, not redeclared.
    const imports = new Map<string, string[]>([['../meta.js', ['ObjectList']]]);
    for (const [type, from] of Object.entries(IMPORTABLE)) {
      if (from === `./${base}.js`) continue;
      if (new RegExp(`\\b${type}\\b`).test(body)) imports.set(from, [...(imports.get(from) ?? []), type]);
    }
    const importLines = [...imports]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([from, types]) => `import type { ${types.sort().join(', ')} } from '${from}';\n`)
      .join('');
    const listType = `\n/** A list of ${kind} objects, as returned by list calls. */\nexport type ${kind}List = ObjectList<${kind}>;\n`;
    body = `${body.trimEnd()}\n`;
    files.set(`${base}.ts`, `${banner(`crds/${file}`) + importLines}\n${body}${listType}`);
    exports.push(`export type * from './${base}.js';\n`);
  }

  const data = crds.map(({ crd }) => crd);
  files.set(
    'crds.ts',
    banner('crds/*.yaml') +
      `import type { CustomResourceDefinition } from '../crd.js';\n\n` +
      `/** berth's CustomResourceDefinitions exactly as in crds/, in file name order. */\n` +
      `export const berthCrdData: readonly CustomResourceDefinition[] = ${JSON.stringify(data, null, 2)};\n`,
  );
  const kinds = crds.map(({ crd }) => ({
    group: crd.spec.group,
    version: VERSION,
    kind: crd.spec.names.kind,
    plural: crd.spec.names.plural,
    singular: crd.spec.names.singular,
    namespaced: crd.spec.scope === 'Namespaced',
  }));
  files.set(
    'kinds.ts',
    banner('crds/*.yaml') +
      `\n/** Identity of one of berth's kinds: its group/version, kind and REST names. */\n` +
      `export interface BerthKind {\n  group: 'berth.dev';\n  version: 'v1alpha1';\n  kind: BerthKindName;\n  plural: string;\n  singular: string;\n  namespaced: boolean;\n}\n\n` +
      `/** The kinds berth serves in ${GROUP}/${VERSION}. */\n` +
      `export type BerthKindName = ${kinds.map((k) => `'${k.kind}'`).join(' | ')};\n\n` +
      `/** berth's kinds, in crds/ file name order. */\n` +
      `export const berthKinds: readonly BerthKind[] = ${JSON.stringify(kinds, null, 2)};\n`,
  );
  files.set(
    'index.ts',
    `${banner('crds/*.yaml') + exports.join('')}export * from './kinds.js';\nexport * from './crds.js';\n`,
  );
  return files;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  // --out DIR: generate into (or check) another directory; tests use it to prove --check catches staleness.
  const outAt = args.indexOf('--out');
  const outDir = outAt >= 0 && args[outAt + 1] ? args[outAt + 1]! : defaultOutDir;
  const files = await generate();
  if (check) {
    const present = (await readdir(outDir).catch(() => [] as string[])).filter((f) => f.endsWith('.ts'));
    const stale: string[] = [];
    for (const [name, text] of files) {
      const current = await readFile(join(outDir, name), 'utf8').catch(() => undefined);
      if (current !== text) stale.push(name);
    }
    for (const name of present) if (!files.has(name)) stale.push(`${name} (not generated any more)`);
    if (stale.length) {
      process.stderr.write(`${relative(root, outDir) || outDir}/ is stale, run \`npm run gen\`: ${stale.join(', ')}\n`);
      process.exit(1);
    }
    process.stdout.write(`${relative(root, outDir)}/ is up to date\n`);
    return;
  }
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  for (const [name, text] of files) await writeFile(join(outDir, name), text);
  process.stdout.write(`wrote ${files.size} files to api/src/generated/\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`gen-api-types: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
