// Which node may read what (Kubernetes' node authorizer graph, kept small): a node reads a Secret or ConfigMap only
// through an object bound to it — a Container bound to it (volumes, env, envFrom, imagePullSecrets), an Image build
// bound to it (its uploaded context and pull Secrets), a commit of a Container bound to it, a tag made where its
// source is, and a pull whose nodeSelector matches it (as a DaemonSet's Pods are bound to each node it selects).
// Bindings come only from what nodes cannot write themselves (NodeRestriction); followed from the watch cache so
// deciding a request reads no storage.

import { gitContextConfigMapName, isGitUrl } from '@berth/api';
import type { Logger } from '../../logging/logger.js';
import type { KubeObject } from '../../objects/object.js';
import { follow, type Follower } from '../../storage/follow.js';
import type { Store, StoredValue } from '../../storage/interface.js';
import type { WatchSource } from '../../watch/watch-stream.js';

const containersPrefix = '/registry/berth.dev/containers/';
const imagesPrefix = '/registry/berth.dev/images/';
const nodesPrefix = '/registry/core/nodes/';

export type ReferencedKind = 'secrets' | 'configmaps';

/** The node(s) an object is bound to, resolved when a request is decided (labels and Containers move). */
type Binding =
  | { readonly kind: 'node'; readonly node: string }
  /** A pull: every Node its selector matches (`kubernetes.io/hostname` by the Node's name, not a label it sets). */
  | { readonly kind: 'selector'; readonly selector: Readonly<Record<string, string>> }
  /** A commit: the node of this Container. */
  | { readonly kind: 'container'; readonly key: string }
  /** A tag: wherever the objects holding its source reference are bound. */
  | { readonly kind: 'source'; readonly holder: string }
  | { readonly kind: 'none' };

export interface Entry {
  readonly binding: Binding;
  /** `secrets/<ns>/<name>` or `configmaps/<ns>/<name>`. */
  readonly refs: readonly string[];
  /** `<ns>/<reference>` this object holds an image by (an Image's name and digest, a Container's imageID). */
  readonly holds: readonly string[];
  /** `<ns>/<name>` of a Container, for commits. */
  readonly container?: string;
  /** A Node's name and labels. */
  readonly node?: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
}

type Rec = Record<string, unknown>;
const recs = (v: unknown): Rec[] =>
  Array.isArray(v) ? v.filter((x): x is Rec => x !== null && typeof x === 'object') : [];
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const field = (v: unknown, key: string): unknown => (v !== null && typeof v === 'object' ? (v as Rec)[key] : undefined);
const strings = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (v !== null && typeof v === 'object' && !Array.isArray(v))
    for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
};

/** The Secrets and ConfigMaps a Container spec names. */
export function referencesOf(spec: unknown, namespace: string): string[] {
  const refs = new Set<string>();
  const add = (kind: ReferencedKind, name: unknown) => {
    const n = str(name);
    if (n !== undefined) refs.add(`${kind}/${namespace}/${n}`);
  };
  for (const v of recs(field(spec, 'volumes'))) {
    add('secrets', field(v['secret'], 'secretName'));
    add('configmaps', field(v['configMap'], 'name'));
  }
  for (const e of recs(field(spec, 'env'))) {
    add('secrets', field(field(e['valueFrom'], 'secretKeyRef'), 'name'));
    add('configmaps', field(field(e['valueFrom'], 'configMapKeyRef'), 'name'));
  }
  for (const e of recs(field(spec, 'envFrom'))) {
    add('secrets', field(e['secretRef'], 'name'));
    add('configmaps', field(e['configMapRef'], 'name'));
  }
  for (const s of recs(field(spec, 'imagePullSecrets'))) add('secrets', s['name']);
  return [...refs];
}

export function containerEntry(obj: KubeObject): Entry {
  const namespace = obj.metadata.namespace ?? '';
  const node = str(field(obj['spec'], 'nodeName'));
  const imageID = str(field(obj['status'], 'imageID'));
  return {
    binding: node === undefined ? { kind: 'none' } : { kind: 'node', node },
    refs: node === undefined ? [] : referencesOf(obj['spec'], namespace),
    holds: imageID === undefined ? [] : [`${namespace}/${imageID}`],
    container: `${namespace}/${obj.metadata.name ?? ''}`,
  };
}

/**
 * The entry of a Container stored unbound and with no image recorded, from its storage key alone: most of a burst of
 * creates, each of which was parsed a second time here only to find nothing (1.6 % of the API server's CPU in
 * bench/api-creates.ts at 64 clients). The API server wrote the value with JSON.stringify, which never escapes a
 * letter of a key: no `"nodeName"` in the text means no spec.nodeName (one in an annotation or env value only
 * costs the parse).
 */
export function unboundContainerEntry(key: string, value: string): Entry | undefined {
  if (!key.startsWith(containersPrefix) || value.includes('"nodeName"') || value.includes('"imageID"'))
    return undefined;
  const [namespace, name, extra] = key.slice(containersPrefix.length).split('/');
  if (namespace === undefined || namespace === '' || name === undefined || name === '' || extra !== undefined)
    return undefined;
  return { binding: { kind: 'none' }, refs: [], holds: [], container: `${namespace}/${name}` };
}

/** `host:5000/a/b:1@sha256:…` → `host:5000/a/b`. */
const repositoryOf = (reference: string): string => {
  const name = reference.split('@')[0] ?? reference;
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? name.slice(0, colon) : name;
};

/**
 * An Image's binding: a build's node (spec.build.nodeName, else the image build controller's status.nodeName),
 * a commit's Container, a tag's source, a pull's nodeSelector (unset or {} selects every node, as the agents pull
 * it everywhere). Its context ConfigMap (or its git context's) and pull Secrets are what the bound nodes may read.
 */
function imageEntry(obj: KubeObject): Entry {
  const namespace = obj.metadata.namespace ?? '';
  const spec = obj['spec'];
  const build = field(spec, 'build');
  const from = field(spec, 'from');
  let binding: Binding;
  if (build !== undefined) {
    const node = str(field(build, 'nodeName')) ?? str(field(obj['status'], 'nodeName'));
    binding = node === undefined ? { kind: 'none' } : { kind: 'node', node };
  } else if (str(field(from, 'container')) !== undefined) {
    binding = { kind: 'container', key: `${namespace}/${str(field(from, 'container'))}` };
  } else if (str(field(from, 'image')) !== undefined) {
    binding = { kind: 'source', holder: `${namespace}/${str(field(from, 'image'))}` };
  } else {
    binding = { kind: 'selector', selector: strings(field(spec, 'nodeSelector')) };
  }
  const refs: string[] = [];
  const context = str(field(field(build, 'contextConfigMap'), 'name'));
  if (context !== undefined) refs.push(`configmaps/${namespace}/${context}`);
  // A git context: the image build controller uploads this generation's to a ConfigMap of a known name.
  if (
    build !== undefined &&
    (field(build, 'contextGitRepository') !== undefined || isGitUrl(str(field(build, 'context'))))
  )
    refs.push(
      `configmaps/${namespace}/${gitContextConfigMapName(obj.metadata.name ?? '', obj.metadata.generation ?? 0)}`,
    );
  for (const s of recs(field(spec, 'imagePullSecrets'))) {
    const name = str(s['name']);
    if (name !== undefined) refs.push(`secrets/${namespace}/${name}`);
  }
  const reference = str(field(spec, 'image'));
  const digest = str(field(obj['status'], 'digest'));
  const holds =
    reference === undefined
      ? []
      : [
          `${namespace}/${reference}`,
          ...(digest === undefined ? [] : [`${namespace}/${repositoryOf(reference)}@${digest}`]),
        ];
  return { binding, refs, holds };
}

function nodeEntry(obj: KubeObject): Entry {
  return {
    binding: { kind: 'none' },
    refs: [],
    holds: [],
    node: { name: obj.metadata.name ?? '', labels: strings(obj.metadata.labels) },
  };
}

const addTo = <K, V>(index: Map<K, Set<V>>, key: K, value: V) => {
  let set = index.get(key);
  if (set === undefined) index.set(key, (set = new Set()));
  set.add(value);
};
const removeFrom = <K, V>(index: Map<K, Set<V>>, key: K, value: V) => {
  const set = index.get(key);
  set?.delete(value);
  if (set?.size === 0) index.delete(key);
};

/** How deep a tag of a tag of … is followed to its source. */
const maxSourceDepth = 4;

export class NodeGraph {
  /** storage key → the entry it contributes. */
  readonly #entries = new Map<string, Entry>();
  /** reference → storage keys of the objects naming it. */
  readonly #byRef = new Map<string, Set<string>>();
  /** `<ns>/<reference>` → storage keys of the objects holding that image. */
  readonly #holders = new Map<string, Set<string>>();
  /** `<ns>/<name>` of a Container → its storage key. */
  readonly #containers = new Map<string, string>();
  /** Node name → its labels. */
  readonly #nodes = new Map<string, Readonly<Record<string, string>>>();
  readonly #followers: Follower[] = [];

  async start(store: Store, source: WatchSource, log: Logger): Promise<void> {
    for (const [prefix, entryOf] of [
      [nodesPrefix, nodeEntry],
      [containersPrefix, containerEntry],
      [imagesPrefix, imageEntry],
    ] as const) {
      const follower = follow(
        store,
        source,
        prefix,
        {
          list: async (items: StoredValue[]) => {
            for (const key of [...this.#entries.keys()]) if (key.startsWith(prefix)) this.#remove(key);
            for (const item of items) this.#put(item.key, item.value, entryOf);
          },
          event: async (e) => {
            if (e.type === 'DELETE') this.#remove(e.key);
            else if (e.value !== undefined) this.#put(e.key, e.value, entryOf);
          },
        },
        'node graph',
        log,
      );
      this.#followers.push(follower);
      await follower.ready;
    }
  }

  async close(): Promise<void> {
    for (const f of this.#followers) await f.close();
  }

  /** Whether an object bound to `node` names `kind` `namespace/name`. */
  references(node: string, kind: ReferencedKind, namespace: string, name: string): boolean {
    for (const key of this.#byRef.get(`${kind}/${namespace}/${name}`) ?? []) {
      const entry = this.#entries.get(key);
      if (entry !== undefined && this.#bound(entry.binding, node, 0)) return true;
    }
    return false;
  }

  #bound(binding: Binding, node: string, depth: number): boolean {
    switch (binding.kind) {
      case 'node':
        return binding.node === node;
      case 'selector': {
        // A node that has not registered its Node yet has no labels: only an empty selector or its name selects it.
        const labels = this.#nodes.get(node) ?? {};
        return Object.entries(binding.selector).every(([k, v]) =>
          k === 'kubernetes.io/hostname' ? v === node : labels[k] === v,
        );
      }
      case 'container': {
        const key = this.#containers.get(binding.key);
        const entry = key === undefined ? undefined : this.#entries.get(key);
        return entry !== undefined && this.#bound(entry.binding, node, depth + 1);
      }
      case 'source':
        if (depth >= maxSourceDepth) return false;
        for (const key of this.#holders.get(binding.holder) ?? []) {
          const entry = this.#entries.get(key);
          if (entry !== undefined && this.#bound(entry.binding, node, depth + 1)) return true;
        }
        return false;
      case 'none':
        return false;
    }
  }

  #put(key: string, value: string, entryOf: (obj: KubeObject) => Entry): void {
    this.#remove(key);
    let entry = entryOf === containerEntry ? unboundContainerEntry(key, value) : undefined;
    if (entry === undefined) {
      let obj: KubeObject;
      try {
        obj = JSON.parse(value) as KubeObject;
        if (obj === null || typeof obj !== 'object' || typeof obj.metadata !== 'object') return;
      } catch {
        return;
      }
      entry = entryOf(obj);
    }
    this.#entries.set(key, entry);
    for (const r of entry.refs) addTo(this.#byRef, r, key);
    for (const h of entry.holds) addTo(this.#holders, h, key);
    if (entry.container !== undefined) this.#containers.set(entry.container, key);
    if (entry.node !== undefined) this.#nodes.set(entry.node.name, entry.node.labels);
  }

  #remove(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    for (const r of entry.refs) removeFrom(this.#byRef, r, key);
    for (const h of entry.holds) removeFrom(this.#holders, h, key);
    if (entry.container !== undefined && this.#containers.get(entry.container) === key)
      this.#containers.delete(entry.container);
    if (entry.node !== undefined) this.#nodes.delete(entry.node.name);
  }
}
