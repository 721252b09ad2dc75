// Which node may read what (Kubernetes' node authorizer graph, kept small): every Container bound to a node, and
// the Secrets and ConfigMaps it names (volumes, env, envFrom, imagePullSecrets), and every Image build bound to a
// node with its uploaded context ConfigMap and pull Secrets; followed from the watch cache so deciding a request reads no storage.

import type { Logger } from '../../logging/logger.js';
import type { KubeObject } from '../../objects/object.js';
import { follow, type Follower } from '../../storage/follow.js';
import type { Store, StoredValue } from '../../storage/interface.js';
import type { WatchSource } from '../../watch/watch-stream.js';

const containersPrefix = '/registry/berth.dev/containers/';
const imagesPrefix = '/registry/berth.dev/images/';

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

/** The node a Container is bound to, and what it names. */
function containerEntry(obj: KubeObject): Entry | undefined {
  const node = str(field(obj['spec'], 'nodeName'));
  return node === undefined ? undefined : { node, refs: referencesOf(obj['spec'], obj.metadata.namespace ?? '') };
}

/**
 * Whether a stored value can give an entry at all: a Container only when bound (`"nodeName"`, which a managedFields
 * key `"f:nodeName"` does not contain), an Image only when it names a ConfigMap or pull Secrets. The server writes
 * keys unescaped, so a value without these strings needs no parse: most writes (an unbound create, a status
 * write) then cost a substring search instead of a second JSON.parse of the whole object.
 */
const mayNameNode = (value: string): boolean => value.includes('"nodeName"');
const mayNameReferences = (value: string): boolean =>
  value.includes('"contextConfigMap"') || value.includes('"imagePullSecrets"');

/** Entries for "whichever node": an Image pulled on every node its selector matches names its pull Secrets here. */
export const anyNode = '*';

/**
 * The node an Image is made on (a build's chosen in spec or by the image build controller, a commit's or tag's once
 * its status names it, a pull pinned by `kubernetes.io/hostname`), with its context ConfigMap and pull Secrets.
 * Pull Secrets of an Image no node is known for yet are readable by any node: it may be pulled on any.
 */
function imageEntry(obj: KubeObject): Entry | undefined {
  const namespace = obj.metadata.namespace ?? '';
  const build = field(obj['spec'], 'build');
  const node =
    str(field(build, 'nodeName')) ??
    str(field(obj['status'], 'nodeName')) ??
    str(field(field(obj['spec'], 'nodeSelector'), 'kubernetes.io/hostname'));
  const refs: string[] = [];
  const context = str(field(field(build, 'contextConfigMap'), 'name'));
  if (context !== undefined && node !== undefined) refs.push(`configmaps/${namespace}/${context}`);
  for (const s of recs(field(obj['spec'], 'imagePullSecrets'))) {
    const name = str(s['name']);
    if (name !== undefined) refs.push(`secrets/${namespace}/${name}`);
  }
  if (refs.length === 0) return undefined;
  return { node: node ?? anyNode, refs };
}

export class NodeGraph {
  /** storage key → the entry it contributes. */
  readonly #entries = new Map<string, Entry>();
  /** node → reference → how many of its objects name it. */
  readonly #byNode = new Map<string, Map<string, number>>();
  readonly #followers: Follower[] = [];

  async start(store: Store, source: WatchSource, log: Logger): Promise<void> {
    for (const [prefix, entryOf, mayHaveEntry] of [
      [containersPrefix, containerEntry, mayNameNode],
      [imagesPrefix, imageEntry, mayNameReferences],
    ] as const) {
      const follower = follow(
        store,
        source,
        prefix,
        {
          list: async (items: StoredValue[]) => {
            for (const key of [...this.#entries.keys()]) if (key.startsWith(prefix)) this.#remove(key);
            for (const item of items) this.#put(item.key, item.value, entryOf, mayHaveEntry);
          },
          event: async (e) => {
            if (e.type === 'DELETE') this.#remove(e.key);
            else if (e.value !== undefined) this.#put(e.key, e.value, entryOf, mayHaveEntry);
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

  /** Whether a Container or Image build bound to `node` names `kind` `namespace/name`. */
  references(node: string, kind: ReferencedKind, namespace: string, name: string): boolean {
    const ref = `${kind}/${namespace}/${name}`;
    return (this.#byNode.get(node)?.get(ref) ?? 0) > 0 || (this.#byNode.get(anyNode)?.get(ref) ?? 0) > 0;
  }

  #put(
    key: string,
    value: string,
    entryOf: (obj: KubeObject) => Entry | undefined,
    mayHaveEntry: (value: string) => boolean,
  ): void {
    this.#remove(key);
    if (!mayHaveEntry(value)) return;
    let obj: KubeObject;
    try {
      obj = JSON.parse(value) as KubeObject;
    } catch {
      return;
    }
    const entry = entryOf(obj);
    if (entry === undefined) return;
    this.#entries.set(key, entry);
    let counts = this.#byNode.get(entry.node);
    if (counts === undefined) this.#byNode.set(entry.node, (counts = new Map()));
    for (const r of entry.refs) counts.set(r, (counts.get(r) ?? 0) + 1);
  }

  #remove(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
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
