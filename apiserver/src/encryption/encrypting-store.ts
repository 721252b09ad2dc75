// Encryption at rest as a Store in front of the real one (kube-apiserver's storage transformers): values under the
// configured resources' prefixes are sealed on write and opened on every read, list and watch event, so the rest of
// the server never sees ciphertext and the store never sees plaintext. `reencrypt` rewrites what an older key (or no
// key) sealed, as `kubectl get secrets -A -o json | kubectl replace -f -` does after a rotation.

import type {
  ListOptions,
  ListResult,
  Store,
  StoredValue,
  StoreEvent,
  Watcher,
  WriteResult,
} from '../storage/interface.js';
import type { EncryptionConfig } from './encryption-config.js';
import { Envelope } from './envelope.js';

/** `secrets` → `/registry/core/secrets/`, `widgets.example.com` → `/registry/example.com/widgets/`. */
export function storagePrefix(resource: string): string {
  const dot = resource.indexOf('.');
  return dot < 0 ? `/registry/core/${resource}/` : `/registry/${resource.slice(dot + 1)}/${resource.slice(0, dot)}/`;
}

export class EncryptingStore implements Store {
  readonly #prefixes: readonly string[];
  readonly #envelope: Envelope;

  constructor(
    private readonly inner: Store,
    config: EncryptionConfig,
  ) {
    this.#prefixes = config.resources.map(storagePrefix);
    this.#envelope = new Envelope(config);
  }

  #encrypted(key: string): boolean {
    return this.#prefixes.some((p) => key.startsWith(p));
  }

  #open(v: StoredValue): StoredValue;
  #open(v: StoredValue | undefined): StoredValue | undefined;
  #open(v: StoredValue | undefined): StoredValue | undefined {
    if (v === undefined || !this.#encrypted(v.key)) return v;
    return { ...v, value: this.#envelope.open(v.key, v.value) };
  }

  #seal(key: string, render: (revision: number) => string): (revision: number) => string {
    return this.#encrypted(key) ? (revision) => this.#envelope.seal(key, render(revision)) : render;
  }

  #result(r: WriteResult): WriteResult {
    return r.ok || r.current === undefined ? r : { ...r, current: this.#open(r.current) };
  }

  /** Other writers (etcd) write the wrapped store, so they write this one. */
  get shared(): boolean {
    return this.inner.shared === true;
  }

  revision(): number {
    return this.inner.revision();
  }

  compactedRevision(): number {
    return this.inner.compactedRevision();
  }

  async get(key: string): Promise<StoredValue | undefined> {
    return this.#open(await this.inner.get(key));
  }

  async list(options: ListOptions): Promise<ListResult> {
    const filter = options.filter;
    const result = await this.inner.list(
      filter === undefined ? options : { ...options, filter: (item) => filter(this.#open(item)) },
    );
    return { ...result, items: result.items.map((i) => this.#open(i)) };
  }

  async create(key: string, render: (revision: number) => string): Promise<WriteResult> {
    return this.#result(await this.inner.create(key, this.#seal(key, render)));
  }

  async update(key: string, expectedRevision: number, render: (revision: number) => string): Promise<WriteResult> {
    return this.#result(await this.inner.update(key, expectedRevision, this.#seal(key, render)));
  }

  async delete(key: string, expectedRevision?: number): Promise<WriteResult> {
    return this.#result(await this.inner.delete(key, expectedRevision));
  }

  watch(prefix: string, afterRevision: number): Watcher {
    const watcher = this.inner.watch(prefix, afterRevision);
    const open = (key: string, v: string | undefined) =>
      v === undefined || !this.#encrypted(key) ? v : this.#envelope.open(key, v);
    async function* events(): AsyncGenerator<StoreEvent> {
      for await (const e of watcher.events) {
        const value = open(e.key, e.value);
        const prevValue = open(e.key, e.prevValue);
        yield {
          type: e.type,
          key: e.key,
          revision: e.revision,
          ...(value === undefined ? {} : { value }),
          ...(prevValue === undefined ? {} : { prevValue }),
        };
      }
    }
    return { events: events(), close: () => watcher.close() };
  }

  compact(revision: number): Promise<void> {
    return this.inner.compact(revision);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** A value as the wrapped store holds it (sealed, when its key is encrypted), opened. */
  openValue(key: string, value: string): string {
    return this.#encrypted(key) ? this.#envelope.open(key, value) : value;
  }

  /** Rewrites every value not sealed with the current write key; returns how many. Concurrent writes win. */
  async reencrypt(): Promise<number> {
    const current = this.#envelope.writeKey;
    let rewritten = 0;
    for (const prefix of this.#prefixes) {
      const { items } = await this.inner.list({ prefix });
      for (const raw of items) {
        if (Envelope.keyOf(raw.value) === current) continue;
        const plain = JSON.parse(this.#envelope.open(raw.key, raw.value)) as {
          metadata?: { resourceVersion?: string };
        };
        const result = await this.inner.update(raw.key, raw.modRevision, (revision) => {
          plain.metadata = { ...plain.metadata, resourceVersion: String(revision) };
          return this.#envelope.seal(raw.key, JSON.stringify(plain));
        });
        if (result.ok) rewritten++;
      }
    }
    return rewritten;
  }
}
