// The informer's in-memory store: objects by key, plus secondary indexes (by namespace, and any the caller adds).
import type { KubernetesObject } from '@kubernetes/client-node';
import { InvalidOptionError } from '../errors.js';

/** Values an object is filed under in one index (an object may be under several, or none). */
export type IndexFunc<T> = (obj: T) => readonly string[];

/** The index every store has: objects by metadata.namespace ('' for cluster-scoped ones). */
export const namespaceIndex = 'namespace';

/** `namespace/name`, or `name` for a cluster-scoped object: client-go's MetaNamespaceKeyFunc. */
export function objectKey(obj: KubernetesObject): string {
  const ns = obj.metadata?.namespace ?? '';
  const name = obj.metadata?.name ?? '';
  return ns === '' ? name : `${ns}/${name}`;
}

export function keyOf(namespace: string | undefined, name: string): string {
  return namespace === undefined || namespace === '' ? name : `${namespace}/${name}`;
}

export class Indexer<T extends KubernetesObject> {
  readonly #items = new Map<string, T>();
  readonly #funcs = new Map<string, IndexFunc<T>>();
  /** index name → value → keys */
  readonly #indexes = new Map<string, Map<string, Set<string>>>();

  constructor(indexers: Readonly<Record<string, IndexFunc<T>>> = {}) {
    this.addIndexers({ [namespaceIndex]: (o) => [o.metadata?.namespace ?? ''], ...indexers });
  }

  /** Adds indexes, filing the objects already stored; a name already taken is a mistake, not an override. */
  addIndexers(indexers: Readonly<Record<string, IndexFunc<T>>>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.#funcs.has(name)) throw new InvalidOptionError(`index ${JSON.stringify(name)} already exists`);
      this.#funcs.set(name, fn);
      const index = new Map<string, Set<string>>();
      this.#indexes.set(name, index);
      for (const [key, obj] of this.#items) file(index, fn(obj), key);
    }
  }

  get size(): number {
    return this.#items.size;
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  keys(): string[] {
    return [...this.#items.keys()];
  }

  /** Objects filed under `value` in the index `name`. */
  byIndex(name: string, value: string): T[] {
    const index = this.#indexes.get(name);
    if (index === undefined) throw new InvalidOptionError(`no index named ${JSON.stringify(name)}`);
    const out: T[] = [];
    for (const key of index.get(value) ?? []) {
      const obj = this.#items.get(key);
      if (obj !== undefined) out.push(obj);
    }
    return out;
  }

  /** Stores `obj`, returning what it replaced. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj);
    const old = this.#items.get(key);
    if (old !== undefined) this.#unfile(key, old);
    this.#items.set(key, obj);
    for (const [name, fn] of this.#funcs) file(this.#indexes.get(name)!, fn(obj), key);
    return old;
  }

  /** Removes the object at `key`, returning it. */
  remove(key: string): T | undefined {
    const old = this.#items.get(key);
    if (old === undefined) return undefined;
    this.#unfile(key, old);
    this.#items.delete(key);
    return old;
  }

  #unfile(key: string, obj: T): void {
    for (const [name, fn] of this.#funcs) {
      const index = this.#indexes.get(name)!;
      for (const value of fn(obj)) {
        const keys = index.get(value);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(value);
      }
    }
  }
}

function file(index: Map<string, Set<string>>, values: readonly string[], key: string): void {
  for (const value of values) {
    let keys = index.get(value);
    if (keys === undefined) index.set(value, (keys = new Set()));
    keys.add(key);
  }
}
