// reconcile(key): makes this node's containers match the Containers bound to it, one key at a time.
//
// Level-triggered: every call reads the Container from the informer cache and the container from the runtime,
// and does whatever closes the gap (bind, add the finalizer, pull, create, start, restart after back-off, tear
// down), writing status only when it would change. Running it twice in a row does nothing the second time.
import { rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { Container, ContainerStatus } from '@berth/api';
import type { PulledImage } from '../images/images.js';
import { isRuntimeError } from '../runtime/errors.js';
import type { ContainerState, Runtime } from '../runtime/runtime.js';
import { SnapshotError } from '../snapshots/errors.js';
import type { Snapshotter } from '../snapshots/snapshots.js';
import { isNotFound, type ClusterApi, type JsonPatchOperation } from '../cluster/cluster-api.js';
import { containerConfigFor, type EnvSources } from './container-config.js';
import { desiredStatus, statusPatch, type Observation } from './container-status.js';
import { AgentError } from './errors.js';
import type { EventRecorder } from './events.js';
import type { ExitWatcher } from './exit-watch.js';
import { ImagePolicy } from './image-policy.js';
import { containerKey, splitKey } from '../agent/informer.js';
import { pullCredentials } from './pull-secrets.js';

export const finalizer = 'berth.dev/node-agent';

/** What a reconcile asks of the queue: nothing, or to be looked at again after a while. */
export interface ReconcileResult {
  readonly requeueAfterMs?: number;
}

export interface BackoffPolicy {
  /** First delay; doubles per consecutive failure. kubelet: 10 s. */
  readonly baseMs: number;
  /** kubelet: 5 min. */
  readonly maxMs: number;
}

export interface ReconcilerOptions {
  readonly nodeName: string;
  /** Bind Containers with an empty spec.nodeName to this node (all-in-one, until a scheduler exists). */
  readonly adoptUnbound: boolean;
  readonly api: ClusterApi;
  readonly cache: { get(namespace: string, name: string): Container | undefined };
  readonly runtime: Runtime & { containerDir(id: string): string };
  readonly snapshots: Snapshotter;
  readonly images: ImagePolicy;
  readonly events: EventRecorder;
  readonly exits: ExitWatcher;
  /** Back-off between restarts of a container that exited (CrashLoopBackOff). */
  readonly restartBackoff: BackoffPolicy;
  /** Back-off between failed pulls and failed creates. */
  readonly retryBackoff: BackoffPolicy;
  /** A container that ran this long before exiting restarts after the base delay again. kubelet: 10 min. */
  readonly backoffResetMs: number;
  /** Safety-net re-check of running containers (exits normally arrive through ExitWatcher). */
  readonly pollIntervalMs: number;
  readonly log: (message: string) => void;
}

/** What the agent remembers about a Container between reconciles (all of it can be rebuilt after a restart). */
interface Tracked {
  readonly uid: string;
  grace: number;
  image?: PulledImage | undefined;
  /** metadata.generation the running container was made from. */
  generation?: number | undefined;
  /** Consecutive failed pulls or creates, for their back-off. */
  failures: number;
  retryAt?: number | undefined;
  /** The last object our own writes returned: fresher than the cache until the watch catches up. */
  latest?: Container | undefined;
  /** The termination already announced with a BackOff event (finishedAt), so it is announced once. */
  backoffAnnounced?: string | undefined;
  /** The generation whose pull or create failed; a newer spec resets the back-off. */
  failedGeneration?: number | undefined;
  /** When the runtime first said 'unknown' for this container (see reconcile). */
  unknownSince?: number | undefined;
}

const isTerminalPhase = (phase: ContainerStatus['phase']): boolean => phase === 'Succeeded' || phase === 'Failed';

/** The fresher of two copies of one object, by resourceVersion (berth's are revisions of one counter). */
function newer(a: Container, b: Container | undefined): Container {
  if (b === undefined || b.metadata.uid !== a.metadata.uid) return a;
  const ra = a.metadata.resourceVersion ?? '';
  const rb = b.metadata.resourceVersion ?? '';
  if (/^\d+$/.test(ra) && /^\d+$/.test(rb)) return BigInt(rb) > BigInt(ra) ? b : a;
  return a;
}

function backoffDelay(policy: BackoffPolicy, failures: number): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(failures, 0), 30));
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ContainerReconciler {
  readonly #o: ReconcilerOptions;
  readonly #tracked = new Map<string, Tracked>();

  constructor(options: ReconcilerOptions) {
    this.#o = options;
  }

  /** The runtime id of a Container this agent runs (its uid), for log/exec/attach. */
  lookup(namespace: string, name: string): string | undefined {
    const c = this.#o.cache.get(namespace, name);
    if (c === undefined || c.spec.nodeName !== this.#o.nodeName) return undefined;
    return c.metadata.uid;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cached = this.#o.cache.get(namespace, name);
    const tracked = this.#tracked.get(key);
    if (tracked !== undefined && (cached === undefined || cached.metadata.uid !== tracked.uid)) {
      // The Container went away without our finalizer running (forced), or was replaced by a new one.
      await this.teardown(tracked.uid, undefined, tracked.grace);
      this.#tracked.delete(key);
      this.#o.events.forget(tracked.uid);
    }
    if (cached === undefined) return {};
    let c = newer(cached, this.#tracked.get(key)?.latest);
    if (c.spec.nodeName === undefined || c.spec.nodeName === '') {
      if (!this.#o.adoptUnbound || c.metadata.deletionTimestamp !== undefined) return {};
      c = await this.#bind(c);
    }
    if (c.spec.nodeName !== this.#o.nodeName) return {};
    const uid = c.metadata.uid ?? '';
    let t = this.#tracked.get(key);
    if (t === undefined) {
      t = { uid, grace: c.spec.terminationGracePeriodSeconds ?? 30, failures: 0 };
      if (c.status?.containerID === uid && c.status.observedGeneration !== undefined) t.generation = c.status.observedGeneration;
      this.#tracked.set(key, t);
    }
    t.grace = c.spec.terminationGracePeriodSeconds ?? 30;

    if (c.metadata.deletionTimestamp !== undefined) {
      if (!(c.metadata.finalizers ?? []).includes(finalizer)) return {};
      await this.teardown(uid, c, t.grace);
      await this.#removeFinalizer(c);
      this.#tracked.delete(key);
      this.#o.events.forget(uid);
      return {};
    }
    if (!(c.metadata.finalizers ?? []).includes(finalizer)) c = await this.#addFinalizer(c, t);

    const state = await this.#state(uid);
    if (state === undefined || state.status === 'created') {
      if (state === undefined && isTerminalPhase(c.status?.phase) && c.status?.observedGeneration === c.metadata.generation) return {};
      if (state?.status === 'created') await this.#o.runtime.delete(uid, { force: true });
      return this.#startContainer(c, t, c.status?.restartCount ?? 0);
    }
    if (state.status === 'running') {
      t.unknownSince = undefined;
      if (t.generation !== undefined && c.metadata.generation !== undefined && t.generation < c.metadata.generation) {
        // The spec changed under a running container: replace it (fresh writable layer, maybe another image), as a
        // new Pod revision would.
        await this.teardown(uid, c, t.grace);
        t.image = undefined;
        return this.#startContainer(c, t, c.status?.restartCount ?? 0);
      }
      this.#o.exits.watch(uid, this.#exitDir(uid), key);
      t.generation ??= c.metadata.generation;
      await this.#writeStatus(c, t, this.#runningObservation(c, state, t.image));
      return { requeueAfterMs: this.#o.pollIntervalMs };
    }
    if (t.generation !== undefined && c.metadata.generation !== undefined && t.generation < c.metadata.generation) {
      // Exited, and the spec has changed since: run the new spec now instead of backing off on the old one.
      await this.teardown(uid, undefined, 0);
      t.image = undefined;
      return this.#startContainer(c, t, c.status?.restartCount ?? 0);
    }
    if (state.status === 'unknown') {
      // Neither process nor monitor alive and no exit file yet. Seen briefly right after a fast exit under load,
      // before the exit status is readable: look again shortly before calling the container lost.
      t.unknownSince ??= Date.now();
      if (Date.now() - t.unknownSince < 2_000) return { requeueAfterMs: 200 };
    }
    t.unknownSince = undefined;
    return this.#handleExit(c, t, state);
  }

  #exitDir(id: string): string {
    return path.join(this.#o.runtime.containerDir(id), 'exit');
  }

  async #state(id: string): Promise<ContainerState | undefined> {
    try {
      return await this.#o.runtime.state(id);
    } catch (err) {
      if (isRuntimeError(err, 'ContainerNotFound')) return undefined;
      throw err;
    }
  }

  /** Takes an unbound Container for this node; the finalizer comes with it, in one write. */
  async #bind(c: Container): Promise<Container> {
    const finalizers = [...(c.metadata.finalizers ?? [])];
    if (!finalizers.includes(finalizer)) finalizers.push(finalizer);
    return this.#o.api.patchContainer(c.metadata.namespace ?? '', c.metadata.name ?? '', {
      metadata: { resourceVersion: c.metadata.resourceVersion, finalizers },
      spec: { nodeName: this.#o.nodeName },
    });
  }

  async #addFinalizer(c: Container, t: Tracked): Promise<Container> {
    const ops: JsonPatchOperation[] = [{ op: 'test', path: '/metadata/uid', value: c.metadata.uid }];
    if (c.metadata.finalizers === undefined) ops.push({ op: 'add', path: '/metadata/finalizers', value: [finalizer] });
    else ops.push({ op: 'add', path: '/metadata/finalizers/-', value: finalizer });
    const updated = await this.#o.api.jsonPatchContainer(c.metadata.namespace ?? '', c.metadata.name ?? '', ops);
    t.latest = updated;
    return updated;
  }

  async #removeFinalizer(c: Container): Promise<void> {
    const list = c.metadata.finalizers ?? [];
    const at = list.indexOf(finalizer);
    if (at < 0) return;
    try {
      await this.#o.api.jsonPatchContainer(c.metadata.namespace ?? '', c.metadata.name ?? '', [
        { op: 'test', path: '/metadata/uid', value: c.metadata.uid },
        { op: 'test', path: `/metadata/finalizers/${at}`, value: finalizer },
        { op: 'remove', path: `/metadata/finalizers/${at}` },
      ]);
    } catch (err) {
      // Gone already, or someone else moved the list: the next reconcile reads it again.
      if (isNotFound(err)) return;
      throw err;
    }
  }

  /** Stops (with grace) and removes a container and its writable layer; a missing one is fine. */
  async teardown(id: string, c: Container | undefined, graceSeconds: number): Promise<void> {
    this.#o.exits.unwatch(id);
    const state = await this.#state(id);
    if (state !== undefined) {
      if (state.status === 'running' || state.status === 'created') {
        if (c !== undefined) this.#o.events.event(c, 'Normal', 'Killing', `Stopping container ${c.metadata.name ?? ''}`);
        await this.#o.runtime.stop(id, graceSeconds).catch((err: unknown) => {
          if (!isRuntimeError(err, 'ContainerNotRunning')) throw err;
        });
      }
      await this.#o.runtime.delete(id, { force: true });
    }
    await this.#o.snapshots.remove(id);
    // The runtime and the snapshotter each empty their part of the container's directory; the folder is ours.
    await rmdir(this.#o.runtime.containerDir(id)).catch(() => undefined);
  }

  async #writeStatus(c: Container, t: Tracked, obs: Observation): Promise<void> {
    const current = c.status;
    const desired = desiredStatus(current, obs, this.#o.nodeName, c.metadata.generation);
    const patch = statusPatch(current, desired);
    if (patch === undefined) return;
    try {
      t.latest = await this.#o.api.patchContainerStatus(c.metadata.namespace ?? '', c.metadata.name ?? '', patch);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  #runningObservation(c: Container, state: ContainerState, image: PulledImage | undefined): Observation {
    return {
      phase: 'Running',
      containerID: state.id,
      ...(image !== undefined ? { imageID: ImagePolicy.imageID(image) } : {}),
      ...(state.pid !== undefined ? { pid: state.pid } : {}),
      ...(state.startedAt !== undefined ? { startedAt: state.startedAt } : {}),
      restartCount: c.status?.restartCount ?? 0,
      pulled: { ok: true, reason: 'Pulled' },
      running: { ok: true, reason: 'Started' },
    };
  }

  /** Pull (by policy), snapshot, map the spec, create and start; failures become status, Events and a retry. */
  async #startContainer(c: Container, t: Tracked, restartCount: number): Promise<ReconcileResult> {
    const uid = c.metadata.uid ?? '';
    const name = c.metadata.name ?? '';
    const namespace = c.metadata.namespace ?? '';
    const now = Date.now();
    if (t.failedGeneration !== c.metadata.generation) {
      // A changed spec (a fixed image name, say) is tried at once, not after the old spec's back-off.
      t.failures = 0;
      t.retryAt = undefined;
    }
    if (t.retryAt !== undefined && now < t.retryAt) return { requeueAfterMs: t.retryAt - now };
    const failing = (obs: Omit<Observation, 'restartCount' | 'running'>, running?: Observation['running']): Observation => ({
      ...obs,
      restartCount,
      running: running ?? { ok: false, reason: obs.reason ?? 'ContainerCreating', ...(obs.message !== undefined ? { message: obs.message } : {}) },
    });

    let image: PulledImage;
    try {
      const credentials = await pullCredentials(c, (n) => this.#o.api.secretData(namespace, n));
      const ensured = await this.#o.images.ensure(c, {
        ...(credentials !== undefined ? { credentials } : {}),
        beforePull: async () => {
          this.#o.events.event(c, 'Normal', 'Pulling', `Pulling image "${c.spec.image}"`);
          await this.#writeStatus(c, t, failing({ phase: 'Pulling', reason: 'Pulling', pulled: { ok: false, reason: 'Pulling' } }, { ok: false, reason: 'ContainerCreating' }));
          c = t.latest ?? c;
        },
      });
      image = ensured.image;
      t.image = image;
      if (ensured.pulled) {
        const size = ensured.image.downloadedBytes;
        this.#o.events.event(c, 'Normal', 'Pulled', `Successfully pulled image "${c.spec.image}" in ${Math.round(ensured.ms)}ms${size > 0 ? ` (${size} bytes downloaded)` : ' (layers already on this node)'}`);
      } else {
        this.#o.events.event(c, 'Normal', 'Pulled', `Container image "${c.spec.image}" already present on machine`);
      }
    } catch (err) {
      if (!AgentError.isInstance(err)) throw err;
      const delay = backoffDelay(this.#o.retryBackoff, t.failures);
      const reason = err.code === 'ErrImagePull' && t.failures > 0 ? 'ImagePullBackOff' : err.code;
      t.failures += 1;
      t.retryAt = Date.now() + delay;
      t.failedGeneration = c.metadata.generation;
      this.#o.events.event(c, 'Warning', 'Failed', err.message);
      if (err.code === 'ErrImagePull') this.#o.events.event(c, 'Warning', 'BackOff', `Back-off pulling image "${c.spec.image}"`);
      await this.#writeStatus(c, t, failing({ phase: 'Pending', reason, message: err.message, pulled: { ok: false, reason: err.code, message: err.message } }));
      return { requeueAfterMs: delay };
    }

    const pulled = { ok: true, reason: 'Pulled' } as const;
    try {
      const snapshot = await this.#o.snapshots.prepare(uid, image.layers.map((l) => l.dir).reverse());
      const sources: EnvSources = {
        configMap: (n) => this.#o.api.configMapData(namespace, n),
        secret: async (n) => (await this.#o.api.secretData(namespace, n))?.data,
      };
      const config = await containerConfigFor(c, image.config, snapshot.rootfs, sources);
      try {
        await this.#o.runtime.create(uid, config);
      } catch (err) {
        if (!isRuntimeError(err, 'ContainerExists')) throw err;
        // Left by an interrupted attempt: start over.
        await this.#o.runtime.delete(uid, { force: true });
        await this.#o.runtime.create(uid, config);
      }
      this.#o.events.event(c, 'Normal', 'Created', `Created container ${name}`);
      this.#o.exits.watch(uid, this.#exitDir(uid), containerKey(namespace, name));
      const state = await this.#o.runtime.start(uid);
      this.#o.events.event(c, 'Normal', 'Started', `Started container ${name}`);
      t.failures = 0;
      t.retryAt = undefined;
      t.generation = c.metadata.generation;
      t.backoffAnnounced = undefined;
      await this.#writeStatus(c, t, { ...this.#runningObservation(c, state, image), restartCount, pulled });
      return { requeueAfterMs: this.#o.pollIntervalMs };
    } catch (err) {
      const configError = AgentError.isInstance(err);
      if (!configError && !isRuntimeError(err) && !SnapshotError.isInstance(err)) throw err;
      await this.#o.runtime.delete(uid, { force: true }).catch(() => undefined);
      const reason = configError ? err.code : 'CreateContainerError';
      const message = errorMessage(err);
      this.#o.events.event(c, 'Warning', 'Failed', `Error: ${message}`);
      if (!configError && c.spec.restartPolicy === 'Never') {
        // It will never run: say so for good instead of retrying.
        await this.#writeStatus(c, t, failing({ phase: 'Failed', reason, message, pulled }));
        return {};
      }
      const delay = backoffDelay(this.#o.retryBackoff, t.failures);
      t.failures += 1;
      t.retryAt = Date.now() + delay;
      t.failedGeneration = c.metadata.generation;
      await this.#writeStatus(c, t, failing({ phase: 'Pending', reason, message, pulled }));
      return { requeueAfterMs: delay };
    }
  }

  /** The process ended: record it, then restart after back-off or settle, by restartPolicy. */
  async #handleExit(c: Container, t: Tracked, state: ContainerState): Promise<ReconcileResult> {
    const uid = state.id;
    this.#o.exits.unwatch(uid);
    const vanished = state.status === 'unknown';
    if (vanished) this.#o.log(`container ${uid} of ${c.metadata.namespace ?? ''}/${c.metadata.name ?? ''}: process and conmon gone without an exit status`);
    const exitCode = state.exitCode ?? (vanished ? 255 : 0);
    const reason = vanished ? 'Error' : (state.reason ?? (exitCode === 0 ? 'Completed' : 'Error'));
    const finishedAt = state.finishedAt ?? new Date().toISOString();
    const policy = c.spec.restartPolicy ?? 'Always';
    const restart = policy === 'Always' || (policy === 'OnFailure' && (exitCode !== 0 || reason === 'OOMKilled'));
    const restartCount = c.status?.restartCount ?? 0;
    const base = {
      containerID: uid,
      ...(t.image !== undefined ? { imageID: ImagePolicy.imageID(t.image) } : {}),
      exitCode,
      ...(exitCode > 128 ? { signal: exitCode - 128 } : {}),
      ...(state.startedAt !== undefined ? { startedAt: state.startedAt } : {}),
      finishedAt,
      restartCount,
      pulled: { ok: true, reason: 'Pulled' },
    };
    const exitMessage = vanished ? 'the container process and its monitor are gone without an exit status' : `exited with code ${exitCode}${reason === 'OOMKilled' ? ' (killed by the kernel: out of memory)' : ''}`;
    if (!restart) {
      await this.#writeStatus(c, t, {
        ...base,
        phase: exitCode === 0 && reason === 'Completed' ? 'Succeeded' : 'Failed',
        reason,
        message: exitMessage,
        running: { ok: false, reason, message: exitMessage },
      });
      return {};
    }
    const ranMs = state.startedAt === undefined ? 0 : Date.parse(finishedAt) - Date.parse(state.startedAt);
    const delay = ranMs >= this.#o.backoffResetMs ? this.#o.restartBackoff.baseMs : backoffDelay(this.#o.restartBackoff, restartCount);
    const due = Date.parse(finishedAt) + delay;
    const wait = due - Date.now();
    if (wait > 0) {
      if (t.backoffAnnounced !== finishedAt) {
        t.backoffAnnounced = finishedAt;
        this.#o.events.event(c, 'Warning', 'BackOff', `Back-off ${Math.round(delay / 1000)}s restarting failed container ${c.metadata.name ?? ''} (${reason}, exit code ${exitCode})`);
      }
      const message = `back-off ${Math.round(delay / 1000)}s restarting failed container; last run ${exitMessage}`;
      await this.#writeStatus(c, t, { ...base, phase: 'Running', reason: 'CrashLoopBackOff', message, running: { ok: false, reason: 'CrashLoopBackOff', message } });
      return { requeueAfterMs: wait };
    }
    await this.#o.runtime.delete(uid, { force: true });
    return this.#startContainer(c, t, restartCount + 1);
  }

  /** Removes containers and snapshots under the data root whose Container no longer exists. */
  async sweepOrphans(known: ReadonlySet<string>): Promise<string[]> {
    const ids = new Set<string>();
    for (const s of await this.#o.runtime.list()) ids.add(s.id);
    for (const s of await this.#o.snapshots.list()) ids.add(s.id);
    const removed: string[] = [];
    for (const id of ids) {
      if (known.has(id)) continue;
      this.#o.log(`removing orphaned container ${id}: its Container is gone`);
      await this.teardown(id, undefined, 0);
      removed.push(id);
    }
    return removed;
  }
}
