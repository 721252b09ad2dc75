// Which node may read what (Kubernetes' node authorizer graph, kept small): every Container bound to a node, and
// the Secrets and ConfigMaps it names (volumes, env, envFrom, imagePullSecrets), followed from the watch cache so
// deciding a request reads no storage.

import type { Logger } from '../../logging/logger.js';
import type { KubeObject } from '../../objects/object.js';
import { follow, type Follower } from '../../storage/follow.js';
import type { Store, StoredValue } from '../../storage/interface.js';
import type { WatchSource } from '../../watch/watch-stream.js';

const prefix = '/registry/berth.dev/containers/';

export type ReferencedKind = 'secrets' | 'configmaps';

interface Entry {
  readonly node: string;
  /** `secrets/<ns>/<name>` or `configmaps/<ns>/<name>`. */
  readonly refs: readonly string[];
}

type Rec = Record<string, unknown>;
const recs = (v: unknown): Rec[] =>
  Array.isArray(v) ? v.filter((x): x is Rec => x !== null && typeof x === 'object') : [];
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const field = (v: unknown, key: string): unknown => (v !== null && typeof v === 'object' ? (v as Rec)[key] : undefined);

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

export class NodeGraph {
  readonly #containers = new Map<string, Entry>();
  /** node → reference → how many of its Containers name it. */
  readonly #byNode = new Map<string, Map<string, number>>();
  #follower: Follower | undefined;

  async start(store: Store, source: WatchSource, log: Logger): Promise<void> {
    this.#follower = follow(
      store,
      source,
      prefix,
      {
        list: async (items: StoredValue[]) => {
          this.#containers.clear();
          this.#byNode.clear();
          for (const item of items) this.#put(item.key, item.value);
        },
        event: async (e) => {
          if (e.type === 'DELETE') this.#remove(e.key);
          else if (e.value !== undefined) this.#put(e.key, e.value);
        },
      },
      'node graph',
      log,
    );
    await this.#follower.ready;
  }

  async close(): Promise<void> {
    await this.#follower?.close();
  }

  /** Whether a Container bound to `node` names `kind` `namespace/name`. */
  references(node: string, kind: ReferencedKind, namespace: string, name: string): boolean {
    return (this.#byNode.get(node)?.get(`${kind}/${namespace}/${name}`) ?? 0) > 0;
  }

  #put(key: string, value: string): void {
    this.#remove(key);
    let obj: KubeObject;
    try {
      obj = JSON.parse(value) as KubeObject;
    } catch {
      return;
    }
    const node = str(field(obj['spec'], 'nodeName'));
    if (node === undefined) return;
    const entry: Entry = { node, refs: referencesOf(obj['spec'], obj.metadata.namespace ?? '') };
    this.#containers.set(key, entry);
    let counts = this.#byNode.get(node);
    if (counts === undefined) this.#byNode.set(node, (counts = new Map()));
    for (const r of entry.refs) counts.set(r, (counts.get(r) ?? 0) + 1);
  }

  #remove(key: string): void {
    const entry = this.#containers.get(key);
    if (entry === undefined) return;
    this.#containers.delete(key);
    const counts = this.#byNode.get(entry.node);
    if (counts === undefined) return;
    for (const r of entry.refs) {
      const n = (counts.get(r) ?? 0) - 1;
      if (n > 0) counts.set(r, n);
      else counts.delete(r);
    }
    if (counts.size === 0) this.#byNode.delete(entry.node);
  }
}
