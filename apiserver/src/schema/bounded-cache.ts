// A size-bounded map for compiled artefacts (validators, CEL programs) keyed by their source text: CRDs are
// decoded anew on every change, so caching by object identity alone would recompile the same text each time.

export class BoundedCache<V> {
  readonly #entries = new Map<string, V>();

  constructor(private readonly limit: number) {}

  /** The cached value for `key`, computing (and keeping) it on a miss; the oldest entry goes when full. */
  get(key: string, compute: () => V): V {
    let v = this.#entries.get(key);
    if (v === undefined) {
      v = compute();
      if (this.#entries.size >= this.limit) this.#entries.delete(this.#entries.keys().next().value as string);
      this.#entries.set(key, v);
    }
    return v;
  }
}
