// In-memory stand-ins for the reconciler's collaborators: the shared FakeRuntime with call recording and the exits
// it cannot make itself (OOM, vanish), a Snapshotter, an image service, and an API with a store.
import type { Container } from '@berth/api';
import type { ImageService, PulledImage } from '../../src/images/images.js';
import type { ContainerConfig, ContainerState } from '../../src/runtime/runtime.js';
import { FakeRuntime as SharedFakeRuntime } from '../runtime/fake-runtime.js';
import type { PrepareOptions, Snapshot, Snapshotter } from '../../src/snapshots/snapshots.js';
import type { ContainerApi, EventSink } from '../../src/containers/reconciler.js';
import type { JsonPatchOperation } from '../../src/cluster/cluster-api.js';

/**
 * The shared FakeRuntime (it passes the Runtime conformance suite) with what these tests also need to see and
 * steer: the calls made, in order, and exits the fake cannot produce itself (an OOM kill, a vanished monitor, an
 * exit at a given time).
 */
export class FakeRuntime extends SharedFakeRuntime {
  /** Every create, start, stop and delete, in order, as `verb id` (`stop id grace`). */
  readonly calls: string[] = [];
  readonly #oomKilled = new Set<string>();
  readonly #vanished = new Set<string>();

  override async create(id: string, config: ContainerConfig): Promise<ContainerState> {
    this.calls.push(`create ${id}`);
    return super.create(id, config);
  }

  override async start(id: string): Promise<ContainerState> {
    this.calls.push(`start ${id}`);
    return super.start(id);
  }

  override async stop(id: string, graceSeconds: number): Promise<ContainerState> {
    this.calls.push(`stop ${id} ${graceSeconds}`);
    return super.stop(id, graceSeconds);
  }

  override async delete(id: string, options?: { readonly force?: boolean }): Promise<void> {
    this.calls.push(`delete ${id}`);
    this.#oomKilled.delete(id);
    this.#vanished.delete(id);
    return super.delete(id, options);
  }

  /** The process exits with `code`; `oomKilled` as the kernel's OOM killer would; `finishedAt` backdates it. */
  exitWith(id: string, code: number, options: { oomKilled?: boolean; finishedAt?: Date } = {}): void {
    if (this.host.containers.get(id)?.exitCode === undefined) this.exit(id, code);
    const c = this.host.containers.get(id);
    if (c !== undefined && options.finishedAt !== undefined) c.finishedAt = options.finishedAt.toISOString();
    if (options.oomKilled === true) this.#oomKilled.add(id);
  }

  /** Process and monitor gone without an exit status (what ConmonRuntime reports as 'unknown'). */
  vanish(id: string): void {
    this.#vanished.add(id);
  }

  override async state(id: string): Promise<ContainerState> {
    const s = await super.state(id);
    if (this.#vanished.has(id))
      return {
        ...s,
        status: 'unknown',
        pid: undefined,
        conmonPid: undefined,
        exitCode: undefined,
        finishedAt: undefined,
        reason: undefined,
      };
    if (this.#oomKilled.has(id) && s.status === 'exited') return { ...s, oomKilled: true, reason: 'OOMKilled' };
    return s;
  }
}

export class FakeSnapshotter implements Snapshotter {
  readonly snapshots = new Map<string, Snapshot>();
  readonly #labels = new Map<string, Readonly<Record<string, string>>>();
  /** How many writable layers were made (a prepare that adopts an existing one makes none). */
  made = 0;

  async prepare(id: string, _layers: readonly string[] = [], options: PrepareOptions = {}): Promise<Snapshot> {
    const existing = this.snapshots.get(id);
    if (existing !== undefined) return existing;
    const s = { id, rootfs: `/fake/${id}/rootfs`, upper: `/fake/${id}/upper`, work: `/fake/${id}/work` } as Snapshot;
    this.snapshots.set(id, s);
    this.#labels.set(id, options.labels ?? {});
    this.made += 1;
    return s;
  }

  async labels(id: string): Promise<Readonly<Record<string, string>>> {
    return this.#labels.get(id) ?? {};
  }

  async remove(id: string): Promise<void> {
    this.snapshots.delete(id);
    this.#labels.delete(id);
  }

  async isMounted(id: string): Promise<boolean> {
    return this.snapshots.has(id);
  }

  async list(): Promise<Snapshot[]> {
    return [...this.snapshots.values()];
  }
}

/** Pulls succeed for any reference but those in `missing`; the image runs until SIGTERM. */
export class FakeImages implements ImageService {
  readonly missing = new Set<string>();
  pulls = 0;

  async pull(reference: string): Promise<PulledImage> {
    this.pulls += 1;
    if (this.missing.has(reference)) throw new Error(`manifest unknown: ${reference}`);
    return {
      reference,
      digest: `sha256:${'a'.repeat(64)}`,
      config: {
        config: { Cmd: ['sh', '-c', 'trap "exit 143" SIGTERM; sleep 3600'] },
        rootfs: { type: 'layers', diff_ids: [] },
      },
      layers: [],
      downloadedBytes: 0,
    } as unknown as PulledImage;
  }

  async close(): Promise<void> {}
}

function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (
      typeof v === 'object' &&
      !Array.isArray(v) &&
      typeof out[k] === 'object' &&
      out[k] !== null &&
      !Array.isArray(out[k])
    )
      out[k] = mergePatch(out[k] as Record<string, unknown>, v as Record<string, unknown>);
    else out[k] = structuredClone(v);
  }
  return out;
}

const notFound = () => Object.assign(new Error('not found'), { code: 404 });

/** A one-kind API server in a Map: the cache reads it directly, so it is never stale. */
export class FakeApi implements ContainerApi {
  readonly objects = new Map<string, Container>();
  readonly writes: string[] = [];
  #rv = 1;
  #uid = 1;

  add(name: string, spec: Partial<Container['spec']>, meta: Partial<Container['metadata']> = {}): Container {
    const c: Container = {
      apiVersion: 'berth.dev/v1alpha1',
      kind: 'Container',
      metadata: {
        name,
        namespace: 'default',
        uid: `uid-${this.#uid++}`,
        generation: 1,
        resourceVersion: String(this.#rv++),
        ...meta,
      },
      spec: { image: 'busybox:1', ...spec },
    };
    this.objects.set(`default/${name}`, c);
    return c;
  }

  get(namespace: string, name: string): Container | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }

  list(): Container[] {
    return [...this.objects.values()];
  }

  /** A user's edit of the spec: generation goes up. */
  editSpec(name: string, spec: Partial<Container['spec']>): void {
    const c = this.#must('default', name);
    this.#store({
      ...c,
      metadata: { ...c.metadata, generation: (c.metadata.generation ?? 1) + 1 },
      spec: { ...c.spec, ...spec },
    });
  }

  /** A delete: with finalizers it only sets deletionTimestamp (and the grace period, when the delete gives one). */
  delete(name: string, gracePeriodSeconds?: number): void {
    const c = this.#must('default', name);
    const grace = gracePeriodSeconds === undefined ? {} : { deletionGracePeriodSeconds: gracePeriodSeconds };
    if ((c.metadata.finalizers ?? []).length === 0) this.objects.delete(`default/${name}`);
    else this.#store({ ...c, metadata: { ...c.metadata, deletionTimestamp: new Date().toISOString(), ...grace } });
  }

  #must(namespace: string, name: string): Container {
    const c = this.get(namespace, name);
    if (c === undefined) throw notFound();
    return c;
  }

  #store(c: Container): Container {
    const next = structuredClone({ ...c, metadata: { ...c.metadata, resourceVersion: String(this.#rv++) } });
    const key = `${c.metadata.namespace ?? ''}/${c.metadata.name ?? ''}`;
    if (next.metadata.deletionTimestamp !== undefined && (next.metadata.finalizers ?? []).length === 0)
      this.objects.delete(key);
    else this.objects.set(key, next);
    return structuredClone(next);
  }

  async patchContainer(namespace: string, name: string, body: object): Promise<Container> {
    this.writes.push(`patch ${name}`);
    return this.#store(
      mergePatch(
        this.#must(namespace, name) as unknown as Record<string, unknown>,
        body as Record<string, unknown>,
      ) as unknown as Container,
    );
  }

  async jsonPatchContainer(namespace: string, name: string, ops: readonly JsonPatchOperation[]): Promise<Container> {
    this.writes.push(`jsonpatch ${name}`);
    const c = structuredClone(this.#must(namespace, name));
    for (const op of ops) {
      const [, top, field, index] = op.path.split('/');
      if (top !== 'metadata') throw new Error(`fake json patch handles metadata only: ${op.path}`);
      const meta = c.metadata as Record<string, unknown>;
      if (op.op === 'test') {
        if (
          index !== undefined
            ? (meta[field ?? ''] as unknown[])[Number(index)] !== op.value
            : meta[field ?? ''] !== op.value
        )
          throw Object.assign(new Error('test failed'), { code: 422 });
      } else if (op.op === 'add') {
        if (index === '-') (meta[field ?? ''] as unknown[]).push(op.value);
        else meta[field ?? ''] = op.value;
      } else if (op.op === 'remove') {
        (meta[field ?? ''] as unknown[]).splice(Number(index), 1);
      }
    }
    return this.#store(c);
  }

  async patchContainerStatus(
    namespace: string,
    name: string,
    status: Record<string, unknown>,
    resourceVersion?: string,
  ): Promise<Container> {
    this.writes.push(`status ${name}`);
    const c = this.#must(namespace, name);
    // Pinned to a resourceVersion (a patch that replaces conditions): a stale one is a conflict, as the server says.
    if (resourceVersion !== undefined && resourceVersion !== c.metadata.resourceVersion)
      throw Object.assign(new Error('conflict'), { code: 409 });
    return this.#store({
      ...c,
      status: mergePatch((c.status ?? {}) as Record<string, unknown>, status) as NonNullable<Container['status']>,
    });
  }

  async secretData(): Promise<undefined> {
    return undefined;
  }

  async configMapData(): Promise<undefined> {
    return undefined;
  }
}

export class FakeEvents implements EventSink {
  readonly seen: string[] = [];

  event(c: Container, type: string, reason: string, message: string): void {
    this.seen.push(`${c.metadata.name ?? ''} ${type} ${reason}: ${message}`);
  }

  forget(): void {}
}
