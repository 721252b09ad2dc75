// reconcile(ctx, req): makes this node's containers match the Containers bound to it, one Container at a time.
//
// Level-triggered: every call decides from what it observes — the Container (informer cache), the container's
// state through the Runtime interface (running, exited with a code and finishedAt, OOM-killed), and the status it
// wrote before (restartCount, observedGeneration, the last reason) — and keeps nothing of its own between calls.
// Timing comes from two places only: `requeueAfterMs` for delays computed from observed status (CrashLoopBackOff
// from restartCount and finishedAt, as kubelet does), and a thrown error for the queue's per-key back-off (a failed
// pull or create, an API error). Running it twice in a row does nothing the second time.
import { formatPullProgress, shortLayerId, type Container, type ContainerStatus, type LayerState } from '@berth/api';
import {
  requestKey,
  type EventType,
  type ReconcileContext,
  type Reconciler,
  type Request,
  type Result,
} from '@berth/controller-runtime';
import type { Logger } from 'pino';
import type { PulledImage, PullProgress } from '../images/images.js';
import { NetworkError } from '../network/errors.js';
import type { NetworkDns } from '../network/dns-server.js';
import type { NetworkDefinition, Networks } from '../network/network.js';
import { hostNameservers } from '../network/host-resolvers.js';
import { gatewayOf } from '../network/user-networks.js';
import { isRuntimeError } from '../runtime/errors.js';
import type { ContainerMount, ContainerNetwork, ContainerState, Runtime } from '../runtime/runtime.js';
import { SnapshotError } from '../snapshots/errors.js';
import type { Snapshotter } from '../snapshots/snapshots.js';
import { isConflict, isNotFound, type ClusterApi, type JsonPatchOperation } from '../cluster/cluster-api.js';
import { MutationCache, type ObjectCache } from '../cluster/mutation-cache.js';
import type { IdRanges } from '../user-namespaces/id-ranges.js';
import { UserNamespaceError } from '../user-namespaces/errors.js';
import { userNamespaceFd, type IdRange } from '../user-namespaces/userns-fd.js';
import { containerConfigFor, type EnvSources } from './container-config.js';
import { networkPlan } from './container-network.js';
import { desiredStatus, statusPatch, toTime, type Observation } from './container-status.js';
import { AgentError, BackOffError } from './errors.js';
import type { ExitNotifier } from './exit-watch.js';
import { ImagePolicy } from './image-policy.js';
import { pullCredentials } from './pull-secrets.js';
import { specDigest, specDigestLabel } from './spec-digest.js';
import { requestedSignal, signalAnnotation } from './signal-request.js';
import type { Prober, ProbeVerdict } from '../probes/prober.js';

export const finalizer = 'berth.dev/node-agent';

export interface BackoffPolicy {
  /** First delay; doubles per consecutive failure. kubelet: 10 s. */
  readonly baseMs: number;
  /** kubelet: 5 min. */
  readonly maxMs: number;
}

/** The API calls reconcile makes (ClusterApi has them; tests pass a fake). */
export type ContainerApi = Pick<
  ClusterApi,
  'patchContainer' | 'jsonPatchContainer' | 'patchContainerStatus' | 'secretData' | 'configMapData'
>;

/** Container networking: the subsystem, the network a Container naming none joins, and how named ones are found. */
export interface NetworkingOptions {
  readonly networks: Networks;
  readonly defaultNetwork: NetworkDefinition;
  /** The Network `name` of `namespace` as this node runs it; undefined when it does not exist. */
  resolve(namespace: string, name: string): Promise<NetworkDefinition | undefined>;
  /** Name servers on the networks' gateways; absent: containers get no resolver. */
  readonly dns?: NetworkDns;
  /** The host's name servers, for a first network with dns: false. @default from /etc/resolv.conf */
  hostNameservers?(): Promise<string[]>;
}

/** Where reconcile reports what it did (controller-runtime's EventRecorder writes core v1 Events). */
export interface EventSink {
  event(container: Container, type: EventType, reason: string, message: string): void;
  forget(uid: string): void;
  /** Holds the writes of Events back while a start runs (see EventRecorder.hold); returns the release. */
  hold?(): () => void;
}

export interface ReconcilerOptions {
  readonly nodeName: string;
  /** The node's address, written as each Container's status.hostIP (kubelet's Pod hostIP). @default none */
  readonly hostIP?: string;
  /**
   * Bind Containers with an empty spec.nodeName to this node. Binding is the scheduler's job: this is the
   * all-in-one convenience of `berth up` and stays only until the scheduler lands.
   */
  readonly adoptUnbound: boolean;
  readonly api: ContainerApi;
  /** The informer's cache: every Container this agent may act on. */
  readonly cache: ObjectCache<Container> & { list(): Container[] };
  readonly runtime: Runtime;
  readonly snapshots: Snapshotter;
  /** Where Localhost seccomp profiles are (kubelet's <root-dir>/seccomp). @default none: such a Container fails */
  readonly seccompRoot?: string;
  /** Id ranges for Containers with `hostUsers: false`; absent: such a Container fails with a config error. */
  readonly idRanges?: Pick<IdRanges, 'allocate' | 'release'>;
  /** Absent: every container gets only loopback, whatever its networkMode (unit tests with a fake runtime). */
  readonly networking?: NetworkingOptions;
  readonly images: ImagePolicy;
  readonly events: EventSink;
  readonly exits: ExitNotifier;
  /** Back-off between restarts of a container that exited (CrashLoopBackOff). */
  readonly restartBackoff: BackoffPolicy;
  /** A container that ran this long before exiting restarts after the base delay again. kubelet: 10 min. */
  readonly backoffResetMs: number;
  /** Safety-net re-check of running containers (exits normally arrive through the ExitNotifier). */
  readonly pollIntervalMs: number;
  /** Called after a container and its snapshot are removed, for what the composition root keeps per id. */
  readonly released?: (id: string) => Promise<void>;
  /**
   * The Container's volume mounts, their sources made on this node (volumes/); `rootfs` (its image, before it
   * runs) fills an empty Volume mounted over image content. An AgentError is a config error.
   * @default none
   */
  readonly mounts?: (c: Container, rootfs: string) => Promise<readonly ContainerMount[]>;
  /** Brings a running container's ConfigMap and Secret volumes up to date; called on each check of it. */
  readonly refresh?: (c: Container) => Promise<void>;
  /** Ids something outside the runtime and snapshotter still keeps files for (emptyDirs), for the orphan sweep. */
  readonly leftovers?: () => Promise<readonly string[]>;
  /** Called before a deleted Container's container is stopped (the routing mesh drops it from its Services). */
  readonly beforeStop?: (c: Container) => Promise<void>;
  /** Liveness, readiness and startup probes; absent: a running container is ready and never killed for health. */
  readonly probes?: Pick<Prober, 'sync' | 'verdict' | 'remove'>;
  readonly logger: Logger;
}

const layerStates: Record<'cached' | 'downloading' | 'downloaded' | 'unpacked', LayerState> = {
  cached: 'Already exists',
  downloading: 'Downloading',
  downloaded: 'Download complete',
  unpacked: 'Pull complete',
};

const isTerminalPhase = (phase: ContainerStatus['phase']): boolean => phase === 'Succeeded' || phase === 'Failed';
const pullFailureReasons: ReadonlySet<string> = new Set(['ErrImagePull', 'ImagePullBackOff']);

export function restartDelay(policy: BackoffPolicy, restartCount: number): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(restartCount, 0), 30));
}

/** `10s`, as kubelet words its back-off; sub-second delays (tests) keep their milliseconds. */
const formatDelay = (ms: number): string => (ms >= 1_000 ? `${Math.round(ms / 1_000)}s` : `${ms}ms`);

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The node agent's Reconciler of Containers, run by a @berth/controller-runtime Controller. */
export class ContainerReconciler implements Reconciler {
  readonly #o: ReconcilerOptions;
  readonly #cache: MutationCache<Container>;
  /** The uids the last orphan sweep knew, and those started since; undefined before the first sweep. */
  #swept: Set<string> | undefined;

  constructor(options: ReconcilerOptions) {
    this.#o = options;
    this.#cache = new MutationCache(options.cache);
  }

  /** The runtime id of a Container this agent runs (its uid), for log/exec/attach. */
  lookup(namespace: string, name: string): string | undefined {
    const c = this.#cache.get(namespace, name);
    if (c === undefined || c.spec.nodeName !== this.#o.nodeName) return undefined;
    return c.metadata.uid;
  }

  async reconcile(ctx: ReconcileContext, req: Request): Promise<Result> {
    const namespace = req.namespace ?? '';
    const name = req.name;
    const key = requestKey(req);
    let c = this.#cache.get(namespace, name);
    if (c === undefined) {
      // Gone without our finalizer running (a forced delete): whatever runs for it is now an orphan. Gone after it
      // ran (the usual delete), nothing of it is left.
      await this.#sweepIfAnyLeft();
      return {};
    }
    const deleting = c.metadata.deletionTimestamp !== undefined;
    if (c.spec.nodeName === undefined || c.spec.nodeName === '') {
      if (!this.#o.adoptUnbound || deleting) return {};
      // The watch event of the bind brings it back, bound.
      await this.#bind(c);
      return { requeueAfterMs: this.#o.pollIntervalMs };
    }
    if (c.spec.nodeName !== this.#o.nodeName) return {};
    const uid = c.metadata.uid ?? '';
    const grace = c.spec.terminationGracePeriodSeconds ?? 30;

    if (deleting) {
      if (!(c.metadata.finalizers ?? []).includes(finalizer)) return {};
      // Out of its Services' published ports before it is told to stop: new connections go to the others.
      await this.#o
        .beforeStop?.(c)
        .catch((err: unknown) =>
          this.#o.logger.warn({ id: uid, err: errorMessage(err) }, 'taking the container out of its Services failed'),
        );
      // The delete's grace period (`kubectl delete --grace-period`, the API server's choice), as kubelet honours it.
      await this.teardown(uid, c, c.metadata.deletionGracePeriodSeconds ?? grace);
      // Nothing of it is left on the node: its leaving the cache needs no sweep.
      this.#swept?.delete(uid);
      await this.#removeFinalizer(c);
      this.#o.events.forget(uid);
      return {};
    }
    // A first start does not wait for the finalizer's write: it goes on beside the start, which awaits it before its
    // first status write (one API round trip less before the runtime is called). Until it lands only a delete
    // could miss it, and a Container gone without it leaves an orphan the next sweep removes. Any other pass goes
    // on from the object the write returned.
    let finalizing: Promise<Container> | undefined;
    if (!(c.metadata.finalizers ?? []).includes(finalizer)) {
      finalizing = this.#addFinalizer(c);
      // Awaited below or by the start; a start that fails before any write must not leave it unhandled.
      finalizing.catch(() => undefined);
    }
    let state = await this.#state(uid);
    const firstStart = state === undefined && c.metadata.annotations?.[signalAnnotation] === undefined;
    if (finalizing !== undefined && (!firstStart || c.spec.stopped === true)) {
      c = await finalizing;
      finalizing = undefined;
    }
    if (c.metadata.annotations?.[signalAnnotation] !== undefined) {
      await this.#signal(c, state);
      state = await this.#state(uid);
    }
    if (c.spec.stopped === true) {
      // Held stopped (docker stop): end the process, keep the container and its writable layer, never restart.
      if (state?.status === 'running') {
        // As for a delete: out of its Services' published ports before it is told to stop.
        await this.#o
          .beforeStop?.(c)
          .catch((err: unknown) =>
            this.#o.logger.warn({ id: uid, err: errorMessage(err) }, 'taking the container out of its Services failed'),
          );
        this.#o.events.event(c, 'Normal', 'Killing', `Stopping container ${name}`);
        await this.#o.runtime.stop(uid, grace).catch((err: unknown) => {
          if (!isRuntimeError(err, 'ContainerNotRunning')) throw err;
        });
        state = await this.#state(uid);
      }
      if (state === undefined || state.status === 'running' || state.status === 'created') return {};
      return this.#handleExit(ctx, c, state);
    }
    // The generation the container on disk was made from, as its status recorded it; none recorded means current.
    const madeFrom = c.status?.containerID === uid ? c.status.observedGeneration : undefined;
    const specChanged =
      madeFrom !== undefined && c.metadata.generation !== undefined && madeFrom < c.metadata.generation;
    const restartCount = c.status?.restartCount ?? 0;

    if (state === undefined || state.status === 'created') {
      if (
        state === undefined &&
        isTerminalPhase(c.status?.phase) &&
        c.status?.observedGeneration === c.metadata.generation
      ) {
        await finalizing;
        return {};
      }
      if (state?.status === 'created') await this.#o.runtime.delete(uid, { force: true });
      // Before making a container, remove any whose Container is gone (forced away, or replaced under one name).
      await this.#sweepIfAnyLeft();
      return this.#startContainer(ctx, c, restartCount, undefined, finalizing);
    }
    if (specChanged) {
      if (state.status !== 'running' && (await this.#o.snapshots.labels(uid))[specDigestLabel] === specDigest(c)) {
        // Only stopped (or its grace period) changed: docker start of a stopped container, which keeps its writes
        // and its log (conmon appends to it).
        await this.#o.runtime.delete(uid, { force: true, keepLog: 'append' });
        return this.#startContainer(ctx, c, restartCount);
      }
      // The spec changed under the container: replace it (fresh writable layer, maybe another image), as a new Pod
      // revision would, without backing off on the old spec.
      await this.teardown(uid, state.status === 'running' ? c : undefined, state.status === 'running' ? grace : 0);
      return this.#startContainer(ctx, c, restartCount);
    }
    if (state.status === 'running') {
      this.#o.exits.watch(uid, key);
      const verdict = this.#probe(c, state);
      if (verdict?.kill !== undefined) return this.#killUnhealthy(ctx, c, state, verdict.kill.kind, grace);
      await this.#o.refresh?.(c);
      await this.#writeStatus(c, this.#runningObservation(c, state, undefined, verdict));
      return { requeueAfterMs: this.#o.pollIntervalMs };
    }
    return this.#handleExit(ctx, c, state);
  }

  /** Sends the signal the Container's annotation asks for to its running process, then takes the request off. */
  async #signal(c: Container, state: ContainerState | undefined): Promise<void> {
    const value = c.metadata.annotations?.[signalAnnotation];
    const signal = requestedSignal(value);
    if (signal === undefined)
      this.#o.events.event(c, 'Warning', 'InvalidSignal', `Cannot send "${value ?? ''}": not a signal`);
    else if (state?.status === 'running') {
      await this.#o.runtime.kill(state.id, signal).catch((err: unknown) => {
        if (!isRuntimeError(err, 'ContainerNotRunning')) throw err;
      });
      this.#o.events.event(c, 'Normal', 'Signaled', `Sent ${signal} to container ${c.metadata.name ?? ''}`);
    }
    // Answered either way: a container that is not running has nothing to signal.
    c = this.#cache.mutated(
      await this.#o.api.patchContainer(c.metadata.namespace ?? '', c.metadata.name ?? '', {
        metadata: { annotations: { [signalAnnotation]: null } },
      }),
    );
  }

  /** Probes this run of the container (from its start on) and says what they found so far. */
  #probe(c: Container, state: ContainerState): ProbeVerdict | undefined {
    const namespace = c.metadata.namespace ?? '';
    const name = c.metadata.name ?? '';
    this.#o.probes?.sync(c, state.id, requestKey({ namespace, name }), state.startedAt, () =>
      this.#cache.get(namespace, name),
    );
    return this.#o.probes?.verdict(state.id);
  }

  /** A liveness or startup probe failed: stop the container, then restart it or not as any exit is, by restartPolicy. */
  async #killUnhealthy(
    ctx: ReconcileContext,
    c: Container,
    state: ContainerState,
    kind: 'liveness' | 'startup',
    grace: number,
  ): Promise<Result> {
    const policy = c.spec.restartPolicy ?? 'Always';
    // kubelet's words; a probe-killed container exits non-zero, so OnFailure restarts it too.
    const message = `Container ${c.metadata.name ?? ''} failed ${kind} probe${policy === 'Never' ? '' : ', will be restarted'}`;
    this.#o.events.event(c, 'Normal', 'Killing', message);
    this.#o.probes?.remove(state.id);
    await this.#o.runtime.stop(state.id, grace).catch((err: unknown) => {
      if (!isRuntimeError(err, 'ContainerNotRunning')) throw err;
    });
    const after = await this.#state(state.id);
    if (after === undefined) return { requeueAfterMs: 0 };
    return this.#handleExit(ctx, c, after);
  }

  /** The runtime's view of `id`; undefined when nothing of it exists. */
  async #state(id: string): Promise<ContainerState | undefined> {
    try {
      const state = await this.#o.runtime.state(id);
      // 'unknown' (no process, no monitor, no exit status) can be a read that raced the monitor writing the exit
      // status and leaving; a second read settles it. Still unknown means lost.
      return state.status === 'unknown' ? await this.#o.runtime.state(id) : state;
    } catch (err) {
      if (isRuntimeError(err, 'ContainerNotFound')) return undefined;
      throw err;
    }
  }

  /** Takes an unbound Container for this node; the finalizer comes with it, in one write. */
  async #bind(c: Container): Promise<Container> {
    const finalizers = [...(c.metadata.finalizers ?? [])];
    if (!finalizers.includes(finalizer)) finalizers.push(finalizer);
    return this.#cache.mutated(
      await this.#o.api.patchContainer(c.metadata.namespace ?? '', c.metadata.name ?? '', {
        metadata: { resourceVersion: c.metadata.resourceVersion, finalizers },
        spec: { nodeName: this.#o.nodeName },
      }),
    );
  }

  async #addFinalizer(c: Container): Promise<Container> {
    // Conditional on the resourceVersion read: a stale copy gets a 409 and the queue retries with a fresh one,
    // instead of adding the finalizer twice.
    const ops: JsonPatchOperation[] = [
      { op: 'test', path: '/metadata/uid', value: c.metadata.uid },
      { op: 'test', path: '/metadata/resourceVersion', value: c.metadata.resourceVersion },
    ];
    if (c.metadata.finalizers === undefined) ops.push({ op: 'add', path: '/metadata/finalizers', value: [finalizer] });
    else ops.push({ op: 'add', path: '/metadata/finalizers/-', value: finalizer });
    return this.#cache.mutated(
      await this.#o.api.jsonPatchContainer(c.metadata.namespace ?? '', c.metadata.name ?? '', ops),
    );
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
      // Gone already; someone else moving the list is a 422 the queue retries with a fresh read.
      if (isNotFound(err)) return;
      throw err;
    }
  }

  /** Stops (with grace) and removes a container and its writable layer; a missing one is fine. */
  async teardown(id: string, c: Container | undefined, graceSeconds: number): Promise<void> {
    this.#o.exits.unwatch(id);
    this.#o.probes?.remove(id);
    const state = await this.#state(id);
    if (state !== undefined) {
      if (state.status === 'running' || state.status === 'created') {
        if (c !== undefined)
          this.#o.events.event(c, 'Normal', 'Killing', `Stopping container ${c.metadata.name ?? ''}`);
        await this.#o.runtime.stop(id, graceSeconds).catch((err: unknown) => {
          if (!isRuntimeError(err, 'ContainerNotRunning')) throw err;
        });
      }
      await this.#o.runtime.delete(id, { force: true });
    }
    // After the process is gone: its address, veth and port rules go with it.
    await this.#o.networking?.networks.detach(id);
    await this.#o.snapshots.remove(id);
    // Only once nothing is mounted through it: the range may go to another container.
    await this.#o.idRanges?.release(id);
    await this.#o.released?.(id);
  }

  /** The id range of a Container with `hostUsers: false` (kept while it exists) and the namespace to idmap with. */
  async #userNamespace(
    c: Container,
    uid: string,
  ): Promise<{ range: IdRange; idmap: { usernsFd: number; hostId: number } } | undefined> {
    if (c.spec.hostUsers !== false) return undefined;
    if (this.#o.idRanges === undefined)
      throw new AgentError(
        'CreateContainerConfigError',
        'this node cannot give containers user namespaces (hostUsers: false)',
      );
    const range = this.#o.idRanges.allocate(uid);
    return { range, idmap: { usernsFd: await userNamespaceFd(range), hostId: range.hostId } };
  }

  /**
   * Writes the status `obs` implies, if it differs; returns the Container as it now is. A merge patch replaces the
   * conditions list whole, so a patch that changes it is pinned to the resourceVersion it was computed from: were
   * the cache stale, a condition a client added (pods/status) would be lost. On a conflict the status is computed
   * again from the stored Container (kubelet patches its own condition types by strategic merge; a CRD has none).
   */
  async #writeStatus(c: Container, obs: Observation): Promise<Container> {
    const [namespace, name] = [c.metadata.namespace ?? '', c.metadata.name ?? ''];
    for (let seen = c, attempt = 0; ; attempt++) {
      const current = seen.status;
      const desired = desiredStatus(current, obs, this.#o.nodeName, c.metadata.generation, this.#o.hostIP);
      const patch = statusPatch(current, desired);
      if (patch === undefined) return seen;
      const pin = patch['conditions'] === undefined ? undefined : seen.metadata.resourceVersion;
      try {
        return this.#cache.mutated(await this.#o.api.patchContainerStatus(namespace, name, patch, pin));
      } catch (err) {
        if (isNotFound(err)) return seen;
        if (pin === undefined || !isConflict(err) || attempt >= 5) throw err;
        // A JSON patch of no operations writes nothing and answers the Container as stored.
        seen = this.#cache.mutated(await this.#o.api.jsonPatchContainer(namespace, name, []));
      }
    }
  }

  #runningObservation(
    c: Container,
    state: ContainerState,
    image: PulledImage | undefined,
    verdict: ProbeVerdict | undefined,
  ): Observation {
    return {
      ...(verdict !== undefined
        ? {
            ready: verdict.ready
              ? { ok: true, reason: 'ContainerRunning' }
              : {
                  ok: false,
                  reason: verdict.started ? 'ReadinessProbeFailed' : 'StartupProbePending',
                  ...(verdict.message !== undefined ? { message: verdict.message } : {}),
                },
          }
        : {}),
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

  /**
   * Pull (by policy), snapshot, map the spec, create and start. A failure becomes status and an Event, then a
   * BackOffError so the queue's back-off times the next try.
   */
  async #startContainer(
    ctx: ReconcileContext,
    c: Container,
    restartCount: number,
    lastTermination?: ContainerStatus['lastTermination'],
    finalizing?: Promise<Container>,
  ): Promise<Result> {
    // While a start runs, Events wait (EventRecorder.hold): in a burst of starts their writes would compete with the
    // starts' own for the API server's thread; they go once no start runs (or within the recorder's bound). A real
    // pull lets them go at once: its Pulling Event tells of a wait that may be long.
    let release = this.#o.events.hold?.();
    const unhold = () => {
      release?.();
      release = undefined;
    };
    try {
      return await this.#start(ctx, c, restartCount, unhold, lastTermination, finalizing);
    } finally {
      unhold();
    }
  }

  async #start(
    ctx: ReconcileContext,
    c: Container,
    restartCount: number,
    /** Lets this start's Events go before it ends. */
    unhold: () => void,
    /** A restart's: how the run it replaces ended, written with this start's first status. */
    lastTermination?: ContainerStatus['lastTermination'],
    /** The finalizer's write, still in flight: it lands before any status write. */
    finalizing?: Promise<Container>,
  ): Promise<Result> {
    const uid = c.metadata.uid ?? '';
    // Files are made for it from here on: if it leaves the cache, the next start sweeps.
    this.#swept?.add(uid);
    let unfinalized = finalizing;
    const write = async (cc: Container, obs: Observation) => {
      if (unfinalized !== undefined) {
        // The finalizer's write outdated every copy this start holds: the first status goes on from what it returned
        // (pinned to an older resourceVersion it would get a 409, then a re-read, then the write again).
        const landed = unfinalized;
        unfinalized = undefined;
        cc = await landed;
      }
      return this.#writeStatus(cc, lastTermination === undefined ? obs : { ...obs, lastTermination });
    };
    const name = c.metadata.name ?? '';
    const namespace = c.metadata.namespace ?? '';
    // The last try of this spec failed to pull: we are backing off (kubelet's ImagePullBackOff).
    const pullBackingOff =
      pullFailureReasons.has(c.status?.reason ?? '') && c.status?.observedGeneration === c.metadata.generation;
    const failing = (
      obs: Omit<Observation, 'restartCount' | 'running'>,
      running?: Observation['running'],
    ): Observation => ({
      ...obs,
      restartCount,
      running: running ?? {
        ok: false,
        reason: obs.reason ?? 'ContainerCreating',
        ...(obs.message !== undefined ? { message: obs.message } : {}),
      },
    });

    let image: PulledImage;
    // Each layer's progress in docker's words, written to status as it changes (one write per layer step), so
    // `berth run` can print docker's per-layer lines.
    const layers = new Map<string, LayerState>();
    let progressWrites: Promise<unknown> = Promise.resolve();
    const onProgress = (e: PullProgress) => {
      if (e.kind !== 'layer' || pullBackingOff) return;
      const state = layerStates[e.phase];
      const id = shortLayerId(e.digest);
      if (layers.get(id) === state) return;
      layers.set(id, state);
      const message = formatPullProgress(layers);
      progressWrites = progressWrites
        .then(async () => {
          c = await write(
            c,
            failing(
              { phase: 'Pulling', reason: 'Pulling', message, pulled: { ok: false, reason: 'Pulling' } },
              { ok: false, reason: 'ContainerCreating' },
            ),
          );
        })
        .catch(() => undefined);
    };
    try {
      const credentials = await pullCredentials(c, (n) => this.#o.api.secretData(namespace, n));
      const ensured = await this.#o.images.ensure(c, {
        ...(credentials !== undefined ? { credentials } : {}),
        // An agent that stops gives up a pull in flight; the next start tries again.
        signal: ctx.signal,
        onProgress,
        beforePull: async () => {
          unhold();
          this.#o.events.event(c, 'Normal', 'Pulling', `Pulling image "${c.spec.image}"`);
          // While backing off, status keeps saying so through the retry instead of flickering to Pulling.
          if (!pullBackingOff) {
            c = await write(
              c,
              failing(
                { phase: 'Pulling', reason: 'Pulling', pulled: { ok: false, reason: 'Pulling' } },
                { ok: false, reason: 'ContainerCreating' },
              ),
            );
          }
        },
      });
      image = ensured.image;
      await progressWrites;
      if (ensured.pulled) {
        const size = ensured.image.downloadedBytes;
        this.#o.events.event(
          c,
          'Normal',
          'Pulled',
          `Successfully pulled image "${c.spec.image}" in ${Math.round(ensured.ms)}ms${size > 0 ? ` (${size} bytes downloaded)` : ' (layers already on this node)'}`,
        );
      } else {
        this.#o.events.event(c, 'Normal', 'Pulled', `Container image "${c.spec.image}" already present on machine`);
      }
    } catch (err) {
      // A pull given up because the agent is stopping says nothing about the image.
      if (!AgentError.isInstance(err) || ctx.signal.aborted) throw err;
      // kubelet's words: the failed try is ErrImagePull; a spec that keeps failing is in ImagePullBackOff.
      const backOff = err.code === 'ErrImagePull' && pullBackingOff;
      const reason = backOff ? 'ImagePullBackOff' : err.code;
      const message = backOff ? `Back-off pulling image "${c.spec.image}": ${err.message}` : err.message;
      this.#o.events.event(c, 'Warning', 'Failed', err.message);
      if (err.code === 'ErrImagePull')
        this.#o.events.event(c, 'Normal', 'BackOff', `Back-off pulling image "${c.spec.image}"`);
      await write(
        c,
        failing({ phase: 'Pending', reason, message, pulled: { ok: false, reason: err.code, message: err.message } }),
      );
      throw new BackOffError(`${reason}: ${err.message}`, err);
    }

    const pulled = { ok: true, reason: 'Pulled' } as const;
    try {
      const userNamespace = await this.#userNamespace(c, uid);
      const snapshot = await this.#o.snapshots.prepare(uid, image.layers.map((l) => l.dir).reverse(), {
        labels: { [specDigestLabel]: specDigest(c) },
        ...(userNamespace === undefined ? {} : { idmap: userNamespace.idmap }),
      });
      const sources: EnvSources = {
        configMap: (n) => this.#o.api.configMapData(namespace, n),
        secret: async (n) => (await this.#o.api.secretData(namespace, n))?.data,
      };
      const base = await containerConfigFor(c, image.config, snapshot.rootfs, sources, {
        ...(this.#o.seccompRoot === undefined ? {} : { seccompRoot: this.#o.seccompRoot }),
      });
      // Volumes first: a config error there should not cost a network attach.
      const volumeMounts = (await this.#o.mounts?.(c, snapshot.rootfs)) ?? [];
      const { network, dnsServers, attach } = await this.#network(c);
      const config = {
        ...base,
        ...(userNamespace === undefined ? {} : { userNamespace: userNamespace.range }),
        network,
        dnsServers,
        ...(volumeMounts.length > 0 ? { mounts: [...(base.mounts ?? []), ...volumeMounts] } : {}),
      };
      // Nothing to wire (loopback or the host's network): one runtime process creates and starts it.
      const startNow = attach === undefined;
      const create = async () => {
        const make = () => (startNow ? this.#o.runtime.run(uid, config) : this.#o.runtime.create(uid, config));
        try {
          return await make();
        } catch (err) {
          if (!isRuntimeError(err, 'ContainerExists')) throw err;
          // Left by an interrupted attempt: start over.
          await this.#o.runtime.delete(uid, { force: true });
          return await make();
        }
      };
      // The CNI plugins wire the namespace while the runtime creates the container in it (its process starts only
      // after both): the attach costs a start little more than the namespace itself.
      const [created, attached] = await Promise.allSettled([create(), attach?.() ?? []]);
      if (attached.status === 'rejected') throw attached.reason;
      if (created.status === 'rejected') throw created.reason;
      const ips = attached.value;
      // A fresh container directory: a watch left on an earlier one (since removed) would see nothing.
      this.#o.exits.unwatch(uid);
      this.#o.exits.watch(uid, requestKey({ namespace, name }));
      let state: ContainerState;
      try {
        state = startNow ? created.value : await this.#o.runtime.start(uid);
      } catch (err) {
        this.#o.events.event(c, 'Normal', 'Created', `Created container ${name}`);
        throw err;
      }
      // Probed from its start: status says not ready until a readiness probe says so.
      const verdict = this.#probe(c, state);
      try {
        await write(c, {
          ...this.#runningObservation(c, state, image, verdict),
          restartCount,
          pulled,
          ips,
        });
      } finally {
        // The Events after the status: posted before, their commits would hold the status write's commit back.
        this.#o.events.event(c, 'Normal', 'Created', `Created container ${name}`);
        this.#o.events.event(c, 'Normal', 'Started', `Started container ${name}`);
      }
      return { requeueAfterMs: this.#o.pollIntervalMs };
    } catch (err) {
      const configError = AgentError.isInstance(err);
      const networkError = NetworkError.isInstance(err);
      if (
        !configError &&
        !networkError &&
        !isRuntimeError(err) &&
        !SnapshotError.isInstance(err) &&
        !UserNamespaceError.isInstance(err)
      )
        throw err;
      this.#o.exits.unwatch(uid);
      await this.#o.runtime.delete(uid, { force: true }).catch(() => undefined);
      // Nothing half-made stays: the next try attaches afresh.
      await this.#o.networking?.networks
        .detach(uid)
        .catch((e: unknown) =>
          this.#o.logger.warn({ id: uid, err: errorMessage(e) }, 'detaching after a failed start failed'),
        );
      const reason = configError ? err.code : networkError ? err.code : 'CreateContainerError';
      const message = errorMessage(err);
      if (networkError)
        this.#o.events.event(
          c,
          'Warning',
          // kubelet's words for a network not ready yet; the Network's changes retry the Container at once.
          err.code === 'PortInUse' || err.code === 'NetworkNotReady' ? err.code : 'FailedNetworkSetup',
          message,
        );
      else this.#o.events.event(c, 'Warning', 'Failed', `Error: ${message}`);
      // A Network not ready on this node yet (its slice still coming) is a wait, not a failure, whatever the policy.
      const waiting = networkError && err.code === 'NetworkNotReady';
      if (!configError && !waiting && c.spec.restartPolicy === 'Never') {
        // It will never run: say so for good instead of retrying.
        await write(c, failing({ phase: 'Failed', reason, message, pulled }));
        return {};
      }
      await write(c, failing({ phase: 'Pending', reason, message, pulled, ips: [] }));
      throw new BackOffError(`${reason}: ${message}`, err);
    }
  }

  /**
   * The container's network namespace by its networkMode (made now, for the runtime), and the attach to its
   * networks (or the attachment it already has) to run beside the runtime's create.
   */
  async #network(c: Container): Promise<{
    network: ContainerNetwork;
    dnsServers: string[];
    /** Absent: nothing to wire. */
    attach: (() => Promise<NonNullable<Observation['ips']>>) | undefined;
  }> {
    const none = undefined;
    const n = this.#o.networking;
    if (n === undefined) return { network: { kind: 'loopback' }, dnsServers: [], attach: none };
    const namespace = c.metadata.namespace ?? '';
    const plan = await networkPlan(c, n.defaultNetwork, (name) => n.resolve(namespace, name));
    if (plan.mode === 'none') return { network: { kind: 'loopback' }, dnsServers: [], attach: none };
    if (plan.mode === 'host') return { network: { kind: 'host' }, dnsServers: [], attach: none };
    const uid = c.metadata.uid ?? '';
    const netns = await n.networks.sandbox(uid);
    // Known before the attach ends (resolv.conf is written while it runs): the first network's gateway, or the
    // host's name servers when that network has no name server (dns: false).
    const first = plan.request.networks[0];
    const gateway = first === undefined ? undefined : gatewayOf(first);
    const dnsServers =
      first?.dns === false
        ? await (n.hostNameservers ?? hostNameservers)()
        : n.dns !== undefined && gateway !== undefined
          ? [gateway]
          : [];
    return {
      network: { kind: 'namespace', path: netns },
      dnsServers,
      attach: async () => {
        const attachment = await n.networks.attach(uid, plan.request);
        // Before the process starts, each network's name server is up on its bridge.
        for (const a of attachment.addresses) {
          const def = plan.request.networks.find((d) => d.name === a.network);
          if (a.gateway === undefined || def?.dns === false) continue;
          // A NetworkError, so the failure reaches status and the half-made container and attachment are undone.
          // Keyed by the definition's id (namespace_name for a user Network): names repeat across namespaces.
          await n.dns?.ensure(def?.id ?? a.network, a.gateway, def?.dnsUpstreams ?? []).catch((err: unknown) => {
            throw new NetworkError(
              'NameServerFailed',
              `the name server of network ${a.network} could not listen on ${a.gateway}:53: ${errorMessage(err)}`,
              { cause: err },
            );
          });
        }
        return attachment.addresses.map((a) => ({ ip: a.ip, network: a.network }));
      },
    };
  }

  /** The process ended: record it, then restart after back-off or settle, by restartPolicy. */
  async #handleExit(ctx: ReconcileContext, c: Container, state: ContainerState): Promise<Result> {
    const uid = state.id;
    this.#o.exits.unwatch(uid);
    this.#o.probes?.remove(uid);
    const vanished = state.status === 'unknown';
    const recorded = c.status?.containerID === uid ? c.status : undefined;
    if (vanished && recorded?.finishedAt === undefined)
      this.#o.logger.warn(
        { container: requestKey({ namespace: c.metadata.namespace ?? '', name: c.metadata.name ?? '' }), id: uid },
        'container process and conmon gone without an exit status',
      );
    const exitCode = state.exitCode ?? (vanished ? 255 : 0);
    const reason = vanished ? 'Error' : (state.reason ?? (exitCode === 0 ? 'Completed' : 'Error'));
    // A vanished container has no exit time of its own: the first time we saw it gone, as status recorded it.
    const finishedAt = state.finishedAt ?? recorded?.finishedAt ?? new Date().toISOString();
    const policy = c.spec.restartPolicy ?? 'Always';
    const restart =
      c.spec.stopped !== true &&
      (policy === 'Always' || (policy === 'OnFailure' && (exitCode !== 0 || reason === 'OOMKilled')));
    const restartCount = c.status?.restartCount ?? 0;
    const base = {
      containerID: uid,
      exitCode,
      ...(exitCode > 128 ? { signal: exitCode - 128 } : {}),
      ...(state.startedAt !== undefined ? { startedAt: state.startedAt } : {}),
      finishedAt,
      restartCount,
      pulled: { ok: true, reason: 'Pulled' },
    };
    const exitMessage = vanished
      ? 'the container process and its monitor are gone without an exit status'
      : `exited with code ${exitCode}${reason === 'OOMKilled' ? ' (killed by the kernel: out of memory)' : ''}`;
    if (!restart) {
      await this.#writeStatus(c, {
        ...base,
        phase: exitCode === 0 && reason === 'Completed' ? 'Succeeded' : 'Failed',
        reason,
        message: exitMessage,
        running: { ok: false, reason, message: exitMessage },
      });
      return {};
    }
    // kubelet's CrashLoopBackOff, from what status and the runtime say: the delay doubles with restartCount, and
    // a run longer than backoffResetMs starts over at the base delay.
    const ranMs = state.startedAt === undefined ? 0 : Date.parse(finishedAt) - Date.parse(state.startedAt);
    const delay =
      ranMs >= this.#o.backoffResetMs
        ? this.#o.restartBackoff.baseMs
        : restartDelay(this.#o.restartBackoff, restartCount);
    const wait = Date.parse(finishedAt) + delay - Date.now();
    if (wait > 0) {
      // Announced once per termination: status already saying CrashLoopBackOff for this exit means it was.
      const announced = c.status?.reason === 'CrashLoopBackOff' && recorded?.finishedAt === toTime(finishedAt);
      if (!announced) {
        this.#o.events.event(
          c,
          'Warning',
          'BackOff',
          `Back-off ${formatDelay(delay)} restarting failed container ${c.metadata.name ?? ''} (${reason}, exit code ${exitCode})`,
        );
      }
      const message = `back-off ${formatDelay(delay)} restarting failed container; last run ${exitMessage}`;
      await this.#writeStatus(c, {
        ...base,
        phase: 'Running',
        reason: 'CrashLoopBackOff',
        message,
        running: { ok: false, reason: 'CrashLoopBackOff', message },
      });
      return { requeueAfterMs: wait };
    }
    // The run that ended keeps its log for `logs --previous`, and its end for lastState, as kubelet keeps the last
    // terminated container's.
    await this.#o.runtime.delete(uid, { force: true, keepLog: 'previous' });
    const startedAt = toTime(state.startedAt);
    return this.#startContainer(ctx, c, restartCount + 1, {
      exitCode,
      ...(base.signal === undefined ? {} : { signal: base.signal }),
      reason,
      containerID: uid,
      ...(startedAt === undefined ? {} : { startedAt }),
      finishedAt: toTime(finishedAt) ?? finishedAt,
    });
  }

  /**
   * sweepOrphans() unless no Container has left the cache since the last sweep: every uid the last sweep knew of,
   * or a start since made files for, is still there. Only a uid leaving the cache makes an orphan, and a start
   * should not pay for listing every container, snapshot and attachment on the node (a burst of N starts listed
   * them N times).
   */
  async #sweepIfAnyLeft(): Promise<void> {
    const present = new Set<string>();
    for (const c of this.#o.cache.list()) if (c.metadata.uid !== undefined) present.add(c.metadata.uid);
    if (this.#swept === undefined) return void (await this.sweepOrphans());
    for (const uid of this.#swept) if (!present.has(uid)) return void (await this.sweepOrphans());
  }

  /** Removes containers and snapshots under the data root whose Container is not in the cache. */
  async sweepOrphans(): Promise<string[]> {
    const ids = new Set<string>();
    for (const id of await this.#o.runtime.ids()) ids.add(id);
    for (const s of await this.#o.snapshots.list()) ids.add(s.id);
    for (const id of (await this.#o.networking?.networks.list()) ?? []) ids.add(id);
    for (const id of (await this.#o.leftovers?.()) ?? []) ids.add(id);
    // The Containers known are read after the files are listed: a start's files are made after its Container came
    // into the cache, so files listed belong to a Container already there (or gone: an orphan). Read before, a
    // start running beside the sweep had its fresh container taken for an orphan.
    const known = new Set<string>();
    for (const c of this.#o.cache.list()) if (c.metadata.uid !== undefined) known.add(c.metadata.uid);
    this.#swept = known;
    const removed: string[] = [];
    for (const id of ids) {
      if (known.has(id)) continue;
      this.#o.logger.info({ id }, 'removing orphaned container: its Container is gone');
      // Its grace period went with its object.
      await this.teardown(id, undefined, 0);
      this.#o.events.forget(id);
      removed.push(id);
    }
    return removed;
  }
}
