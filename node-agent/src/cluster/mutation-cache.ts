// A read-through view of an informer cache that prefers the agent's own newer writes until the watch delivers them.
//
// client-go's MutationCache: a reconcile triggered by a timer or an exit can run before the watch event of the
// previous reconcile's write arrives; reading the stale copy would undo that write's knowledge (a restartCount, a
// finalizer). This is cache freshness, not reconcile memory: an entry lives only until the informer catches up.

/** The little of an object this cache reads (berth's and client-node's types both fit). */
interface Versioned {
  readonly metadata?:
    | { readonly namespace?: string; readonly name?: string; readonly uid?: string; readonly resourceVersion?: string }
    | undefined;
}

export interface ObjectCache<T> {
  get(namespace: string, name: string): T | undefined;
}

/** berth's resourceVersions are revisions of one counter; anything else is compared as unknown (cache wins). */
function revision(obj: Versioned): bigint | undefined {
  const rv = obj.metadata?.resourceVersion ?? '';
  return /^\d+$/.test(rv) ? BigInt(rv) : undefined;
}

export class MutationCache<T extends Versioned> implements ObjectCache<T> {
  readonly #backing: ObjectCache<T>;
  readonly #written = new Map<string, T>();

  constructor(backing: ObjectCache<T>) {
    this.#backing = backing;
  }

  get(namespace: string, name: string): T | undefined {
    const key = `${namespace}/${name}`;
    const cached = this.#backing.get(namespace, name);
    const written = this.#written.get(key);
    if (written === undefined) return cached;
    if (cached === undefined || cached.metadata?.uid !== written.metadata?.uid) {
      // Gone, or replaced by a new object of the same name: what we wrote is history.
      this.#written.delete(key);
      return cached;
    }
    const a = revision(cached);
    const b = revision(written);
    if (a !== undefined && b !== undefined && b > a) return written;
    this.#written.delete(key);
    return cached;
  }

  /** Records the object an API write returned. */
  mutated(obj: T): T {
    this.#written.set(`${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`, obj);
    return obj;
  }
}
