// reconcile(ctx, req): makes an Image object true on this node — a plain reference is pulled here, a `spec.build`
// bound to this node (by spec.build.nodeName or the build controller's status.nodeName) is built here — and says so
// in its status: phase, digest, layers, the node's presence, and for builds each step cached or run.
//
// Level-triggered: an Image whose status already records this generation as Ready or Failed here is left alone, so
// the status writes a reconcile makes do not start it again. Pushes (spec.build.push) follow a successful build.
import { randomBytes } from 'node:crypto';
import { mkdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import {
  formatPushProgress,
  gitContextConfigMapName,
  hasGitContext,
  shortLayerId,
  type Container,
  type Image,
  type ImageNodeStatus,
  type ImageStatus,
  type PushLayerState,
} from '@berth/api';
import type { ReconcileContext, Reconciler, Request, Result } from '@berth/controller-runtime';
import type { Builder } from '../build/builder.js';
import type { BuildLogs } from '../build/build-log.js';
import type { BuildStepResult } from '../build/build.js';
import { BuildError } from '../build/errors.js';
import { type ClusterApi, isConflict } from '../cluster/cluster-api.js';
import { MutationCache, type ObjectCache } from '../cluster/mutation-cache.js';
import { secretCredentials } from '../containers/pull-secrets.js';
import type { DockerConfigJson } from '../distribution/distribution.js';
import type { Platform } from '../distribution/manifest.js';
import { applyLayer } from '../unpack/extract-layer.js';
import { ImageNames } from './image-names.js';
import type { ImageStore } from './image-store.js';

/** The key that makes the reconciler compare this node's local names with the Image objects. */
export const namesSweepKey = { namespace: '', name: '.local-image-names' } as const;

/** The binaryData key `berth build` uploads the context under. */
export const contextKey = 'context.tar.gz';

export interface ImageReconcilerOptions {
  readonly nodeName: string;
  readonly root: string;
  readonly api: Pick<ClusterApi, 'patchImageStatus' | 'configMapBinary' | 'getNode' | 'secretData'>;
  readonly cache: ObjectCache<Image>;
  readonly images: ImageStore;
  readonly builder: Builder;
  /** Every Image (the names sweep compares local names with them). */
  readonly list: () => Image[];
  /** The Containers of this node, for commits. */
  readonly containers: ObjectCache<Container>;
  /**
   * Freezes a running Container of this node (docker commit's --pause); resolves to the thaw, or undefined when it
   * does not run here. Unset: commits do not pause.
   */
  readonly pause?: (container: Container) => Promise<(() => Promise<void>) | undefined>;
  /** A Container's overlay upper dir by its uid (the snapshotter's layout). */
  readonly upperDirOf: (uid: string) => string;
  /** The id range of a Container with a user namespace of its own, whose ids its upper dir's files carry. */
  readonly idRangeOf?: (uid: string) => { readonly hostId: number; readonly size: number } | undefined;
  /** Directories a `spec.build.context` on this node may name (an uploaded context needs none). */
  readonly contextPrefixes: readonly string[];
  /** Whether builds may `RUN --network=host` (the node admin's choice). @default false */
  readonly allowNetworkHost?: boolean;
  readonly event?: (image: Image, type: 'Normal' | 'Warning', reason: string, message: string) => void;
  /** Where each build's progress and RUN output are written, for the Image's log endpoint. @default not kept */
  readonly buildLogs?: BuildLogs;
}

type StatusPatch = Partial<Record<keyof ImageStatus, unknown>>;

const stepsOf = (steps: readonly BuildStepResult[]) =>
  steps.map((s) => ({
    step: s.step,
    instruction: s.instruction.length > 500 ? `${s.instruction.slice(0, 497)}...` : s.instruction,
    ...(s.cached !== undefined ? { cached: s.cached } : {}),
    milliseconds: Math.round(s.ms),
  }));

export class ImageReconciler implements Reconciler {
  readonly #o: ImageReconcilerOptions;
  readonly #cache: MutationCache<Image>;

  constructor(options: ImageReconcilerOptions) {
    this.#o = options;
    this.#cache = new MutationCache(options.cache);
  }

  async reconcile(ctx: ReconcileContext, req: Request): Promise<Result> {
    if (req.name === namesSweepKey.name && (req.namespace ?? '') === namesSweepKey.namespace) {
      await this.#sweepNames();
      return {};
    }
    const image = this.#cache.get(req.namespace ?? '', req.name);
    if (image === undefined || image.metadata.deletionTimestamp !== undefined) return {};
    const generation = image.metadata.generation ?? 0;
    const status = image.status ?? {};
    const here = (status.nodes ?? []).some((n) => n.nodeName === this.#o.nodeName);
    const settled = status.observedGeneration === generation && (status.phase === 'Ready' || status.phase === 'Failed');
    const pushPending = image.spec.push === true && status.phase === 'Ready' && status.pushedDigest !== status.digest;
    if (image.spec.build !== undefined) {
      const node = image.spec.build.nodeName ?? status.nodeName;
      if (node !== this.#o.nodeName) return {};
      if (settled && pushPending) await this.#pushReady(ctx, image);
      else if (!settled) {
        // A git context is fetched by the image build controller: its ConfigMap comes first, then a status write.
        let fetched: Buffer | undefined;
        if (hasGitContext(image.spec.build)) {
          fetched = await this.#o.api.configMapBinary(
            image.metadata.namespace ?? '',
            gitContextConfigMapName(image.metadata.name ?? '', generation),
            contextKey,
          );
          if (fetched === undefined) return {};
        }
        await this.#build(ctx, image, generation, fetched);
      }
      return {};
    }
    if (image.spec.from?.container !== undefined) {
      const c = this.#o.containers.get(image.metadata.namespace ?? '', image.spec.from.container);
      if (c === undefined || c.spec.nodeName !== this.#o.nodeName) return {};
      if (settled && pushPending) await this.#pushReady(ctx, image);
      else if (!settled) await this.#commit(image, generation, c);
      return {};
    }
    if (image.spec.from?.image !== undefined) {
      // A failed tag or push is settled for its generation, as a failed build is: tried again, it looped on its own
      // status writes (each try wrote its push progress over the failure, and asked the registry again).
      if (settled && (here || status.phase === 'Failed')) {
        if (pushPending) await this.#pushReady(ctx, image);
        return {};
      }
      await this.#tag(ctx, image, generation, image.spec.from.image);
      return {};
    }
    if (!(await this.#selected(image))) return {};
    if (settled && here) return {};
    await this.#pull(ctx, image, generation);
    return {};
  }

  /** Local names no Image object holds any more (`berth rmi`) are removed; the image's blobs stay for GC. */
  async #sweepNames(): Promise<void> {
    const wanted = new Set<string>();
    for (const i of this.#o.list()) {
      if (i.metadata.deletionTimestamp !== undefined) continue;
      try {
        wanted.add(ImageNames.normalize(i.spec.image));
      } catch {
        // An invalid reference names nothing here.
      }
    }
    for (const n of await this.#o.images.names.list()) {
      if (!wanted.has(n.reference)) await this.#o.images.names.delete(n.reference);
    }
    await this.#o.buildLogs?.sweep(new Set(this.#o.list().map((i) => i.metadata.uid ?? '')));
  }

  async #tag(ctx: ReconcileContext, image: Image, generation: number, source: string): Promise<void> {
    // A multi-platform index (a pull keeps its base's) is named and pushed whole, its manifests with it.
    const digest = (await this.#o.images.local(source))?.digest ?? (await this.#o.images.localIndex(source));
    // Another node may hold the source: only a node that has it names it.
    if (digest === undefined) return;
    const local = { digest };
    await this.#o.images.names.set(image.spec.image, local.digest);
    let pushed: { message: string } | undefined;
    try {
      pushed = await this.#pushIfAsked(ctx, image, local.digest);
    } catch (err) {
      // Stopping, or another node wrote status first: try again (the queue's back-off), not Failed.
      if (ctx.signal.aborted || isConflict(err)) throw err;
      await this.#failed(image, generation, 'PushFailed', (err as Error).message, {});
      return;
    }
    const message = `${image.spec.image} names ${source} (${local.digest}) on ${this.#o.nodeName}${pushed !== undefined ? `; ${pushed.message}` : ''}`;
    await this.#ready(
      image,
      generation,
      local.digest,
      message,
      pushed !== undefined ? { pushedDigest: local.digest } : {},
    );
  }

  async #commit(image: Image, generation: number, c: Container): Promise<void> {
    const from = image.spec.from ?? {};
    const uid = c.metadata.uid ?? '';
    const idRange = this.#o.idRangeOf?.(uid);
    let thaw: (() => Promise<void>) | undefined;
    try {
      // Frozen while its upper dir is read, so a process mid-write cannot leave half a file in the layer.
      if (from.pause !== false) thaw = await this.#o.pause?.(c);
      const result = await this.#o.builder.commit({
        image: c.status?.imageID ?? c.spec.image,
        upper: this.#o.upperDirOf(uid),
        ...(idRange === undefined ? {} : { idRange }),
        ...(from.changes !== undefined ? { changes: from.changes } : {}),
        ...(from.message !== undefined ? { message: from.message } : {}),
        tags: [image.spec.image],
      });
      await thaw?.();
      thaw = undefined;
      const message = `committed Container ${c.metadata.name ?? ''} as ${image.spec.image} on ${this.#o.nodeName}${from.pause !== false ? ` (paused for ${Math.round(result.ms)} ms)` : ''}`;
      await this.#ready(image, generation, result.digest, message, { nodeName: this.#o.nodeName });
      this.#o.event?.(image, 'Normal', 'Committed', message);
    } catch (err) {
      if (isConflict(err)) throw err;
      await this.#failed(image, generation, 'CommitFailed', (err as Error).message, { nodeName: this.#o.nodeName });
    } finally {
      await thaw?.();
    }
  }

  /** Pushes when spec.push asks; the message says what the registry got. A failed push fails the Image. */
  async #pushIfAsked(ctx: ReconcileContext, image: Image, digest: string): Promise<{ message: string } | undefined> {
    if (image.spec.push !== true) return undefined;
    // Each layer's step in docker push's words, written to status.message as it changes, for `berth push` to show.
    const manifest = JSON.parse((await this.#o.images.content.readBlob(digest)).toString('utf8')) as {
      layers?: { digest: string }[];
    };
    // An index has no layers of its own: its manifests' show as they are pushed.
    const layers = new Map<string, PushLayerState>(
      (manifest.layers ?? []).map((l) => [shortLayerId(l.digest), 'Preparing']),
    );
    const report = () => {
      const message = formatPushProgress(layers);
      writes = writes.then(() => this.#patch(image, { message })).catch(() => undefined);
    };
    let writes: Promise<unknown> = Promise.resolve();
    report();
    const credentials = await this.#credentials(image);
    const pushed = await this.#o.images
      .push(digest, image.spec.image, {
        signal: ctx.signal,
        ...(credentials !== undefined ? { credentials } : {}),
        onProgress: (e) => {
          const id = shortLayerId(e.digest);
          // The config blob is not a layer: docker does not show it either.
          if (!layers.has(id)) return;
          layers.set(id, e.phase === 'exists' ? 'Layer already exists' : e.phase === 'pushing' ? 'Pushing' : 'Pushed');
          report();
        },
      })
      .finally(() => writes);
    return {
      message: `pushed to ${image.spec.image} (${pushed.uploaded} blobs uploaded, ${pushed.mounted} mounted, ${pushed.skipped} already there); ${formatPushProgress(layers)}`,
    };
  }

  /** The registry credentials of the Image's imagePullSecrets (for its pull, its build's base images, its push). */
  async #credentials(image: Image): Promise<DockerConfigJson | undefined> {
    const names = (image.spec.imagePullSecrets ?? []).map((s) => s.name);
    return secretCredentials(names, (name) => this.#o.api.secretData(image.metadata.namespace ?? '', name));
  }

  /** spec.push set on an Image that is already Ready here (`berth push`). */
  async #pushReady(ctx: ReconcileContext, image: Image): Promise<void> {
    const digest = image.status?.digest ?? '';
    try {
      const pushed = await this.#pushIfAsked(ctx, image, digest);
      await this.#patch(image, { pushedDigest: digest, message: pushed?.message ?? '' });
      this.#o.event?.(image, 'Normal', 'Pushed', pushed?.message ?? '');
    } catch (err) {
      // Stopping, or another node wrote status first: try again (the queue's back-off), not Failed.
      if (ctx.signal.aborted || isConflict(err)) throw err;
      await this.#failed(image, image.metadata.generation ?? 0, 'PushFailed', (err as Error).message, {});
    }
  }

  /** nodeSelector unset or {} pulls on every node (what `berth pull` asks for); labels narrow it. */
  async #selected(image: Image): Promise<boolean> {
    const selector = image.spec.nodeSelector ?? {};
    if (Object.keys(selector).length === 0) return true;
    const labels = (await this.#o.api.getNode(this.#o.nodeName))?.metadata?.labels ?? {};
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
  }

  async #patch(image: Image, status: StatusPatch, conditional = false): Promise<Image> {
    return this.#cache.mutated(
      await this.#o.api.patchImageStatus(
        image.metadata.namespace ?? '',
        image.metadata.name ?? '',
        status,
        conditional ? image.metadata.resourceVersion : undefined,
      ),
    );
  }

  #nodes(image: Image): ImageNodeStatus[] {
    return [
      ...(image.status?.nodes ?? []).filter((n) => n.nodeName !== this.#o.nodeName),
      { nodeName: this.#o.nodeName, present: true, pulledAt: new Date().toISOString() },
    ];
  }

  async #ready(image: Image, generation: number, digest: string, message: string, extra: StatusPatch): Promise<void> {
    const latest = this.#cache.get(image.metadata.namespace ?? '', image.metadata.name ?? '') ?? image;
    const local = (await this.#o.images.local(digest)) ?? (await this.#o.images.localIndex(digest));
    const manifest = JSON.parse((await this.#o.images.content.readBlob(digest)).toString('utf8')) as {
      config?: { digest: string; size: number };
      layers?: { digest: string; size: number; mediaType: string }[];
      manifests?: { size: number }[];
    };
    // An index has no config or layers of its own: its size is its manifests', its image ID none.
    const layers = manifest.layers ?? [];
    // Conditional on the copy status.nodes was merged into; a conflict retries the reconcile with the newer one.
    await this.#patch(
      latest,
      {
        ...extra,
        phase: 'Ready',
        observedGeneration: generation,
        digest,
        ...(manifest.config !== undefined ? { imageID: manifest.config.digest } : {}),
        size:
          (manifest.config?.size ?? 0) +
          layers.reduce((n, l) => n + l.size, 0) +
          (manifest.manifests ?? []).reduce((n, m) => n + m.size, 0),
        layers: layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
        nodes: local === undefined ? (latest.status?.nodes ?? []) : this.#nodes(latest),
        message,
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            observedGeneration: generation,
            lastTransitionTime: new Date().toISOString(),
            reason: extra.steps !== undefined ? 'Built' : 'Pulled',
            message,
          },
        ],
      },
      true,
    );
  }

  async #failed(image: Image, generation: number, reason: string, message: string, extra: StatusPatch): Promise<void> {
    await this.#patch(image, {
      ...extra,
      phase: 'Failed',
      observedGeneration: generation,
      message,
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          observedGeneration: generation,
          lastTransitionTime: new Date().toISOString(),
          reason,
          message: message.slice(0, 32000),
        },
      ],
    });
    this.#o.event?.(image, 'Warning', reason, message.slice(0, 1000));
  }

  async #pull(ctx: ReconcileContext, image: Image, generation: number): Promise<void> {
    const reference = image.spec.image;
    await this.#patch(image, { phase: 'Pulling', message: `pulling ${reference} on ${this.#o.nodeName}` });
    const started = performance.now();
    try {
      const pulled = image.spec.pullPolicy !== 'Always' ? await this.#o.images.local(reference) : undefined;
      const credentials = pulled === undefined ? await this.#credentials(image) : undefined;
      const platform = platformOf(image.spec.platform);
      const result =
        pulled ??
        (await this.#o.images.pull(reference, {
          signal: ctx.signal,
          ...(credentials !== undefined ? { credentials } : {}),
          ...(platform !== undefined ? { platform } : {}),
        }));
      const message = `pulled ${reference} on ${this.#o.nodeName} in ${Math.round(performance.now() - started)} ms`;
      await this.#ready(image, generation, result.digest, message, {});
      this.#o.event?.(image, 'Normal', 'Pulled', message);
    } catch (err) {
      // Stopping, or another node wrote status first: try again (the queue's back-off), not Failed.
      if (ctx.signal.aborted || isConflict(err)) throw err;
      await this.#failed(
        image,
        generation,
        'ErrImagePull',
        `failed to pull ${reference}: ${(err as Error).message}`,
        {},
      );
    }
  }

  async #build(ctx: ReconcileContext, image: Image, generation: number, fetched: Buffer | undefined): Promise<void> {
    const build = image.spec.build ?? {};
    const steps: BuildStepResult[] = [];
    // Step results go to status as they finish, one patch at a time, so `berth build` can follow them.
    let writes: Promise<unknown> = Promise.resolve();
    const queue = (patch: StatusPatch) => {
      writes = writes.then(() => this.#patch(image, patch)).catch(() => undefined);
    };
    // Opened before the Building status is written: a client that sees it finds this generation's log.
    const log = this.#o.buildLogs?.open(image.metadata.uid ?? '', generation);
    await this.#patch(image, {
      phase: 'Building',
      nodeName: this.#o.nodeName,
      steps: [],
      message: `building on ${this.#o.nodeName}`,
    }).catch((err: unknown) => {
      log?.close();
      throw err;
    });
    let context: { dir: string; release: () => Promise<void> } | undefined;
    try {
      context = await this.#context(image, fetched);
      const credentials = await this.#credentials(image);
      const result = await this.#o.builder.build({
        ...(credentials !== undefined ? { credentials } : {}),
        context: context.dir,
        ...(build.dockerfile !== undefined ? { dockerfile: build.dockerfile } : {}),
        ...(build.buildArgs !== undefined ? { buildArgs: build.buildArgs } : {}),
        ...(build.target !== undefined ? { target: build.target } : {}),
        noCache: build.noCache === true,
        allowNetworkHost: this.#o.allowNetworkHost === true,
        tags: [image.spec.image],
        signal: ctx.signal,
        onProgress: (e) => {
          log?.progress(e);
          if (e.kind !== 'step' || e.status === 'running' || e.status === 'failed') return;
          steps.push({ step: e.step, stage: e.stage, instruction: e.instruction, cached: e.cached, ms: e.ms ?? 0 });
          queue({ steps: stepsOf(steps) });
        },
      });
      await writes;
      // Ended before the final status: a client that sees it has the whole log coming.
      log?.close();
      const ran = result.steps.filter((s) => s.cached === false).length;
      const cached = result.steps.filter((s) => s.cached === true).length;
      let message = `built ${image.spec.image} on ${this.#o.nodeName} in ${(result.ms / 1000).toFixed(2)} s: ${ran} steps ran, ${cached} cached`;
      const pushed = await this.#pushIfAsked(ctx, image, result.digest);
      if (pushed !== undefined) message += `; ${pushed.message}`;
      await this.#ready(image, generation, result.digest, message, {
        nodeName: this.#o.nodeName,
        steps: stepsOf(result.steps),
        ...(pushed !== undefined ? { pushedDigest: result.digest } : {}),
      });
      this.#o.event?.(image, 'Normal', 'Built', message);
    } catch (err) {
      // Stopping, or another node wrote status first: try again (the queue's back-off), not Failed.
      if (ctx.signal.aborted || isConflict(err)) throw err;
      await writes;
      log?.close();
      const reason = BuildError.isInstance(err) ? 'BuildFailed' : 'Error';
      await this.#failed(image, generation, reason, (err as Error).message, {
        nodeName: this.#o.nodeName,
        steps: stepsOf(steps),
      });
    } finally {
      log?.close();
      await context?.release();
    }
  }

  /**
   * The context directory: an uploaded one (or one fetched from git, `fetched`) unpacked into a scratch dir, or an
   * allowed directory on this node.
   */
  async #context(image: Image, fetched: Buffer | undefined): Promise<{ dir: string; release: () => Promise<void> }> {
    const build = image.spec.build ?? {};
    const namespace = image.metadata.namespace ?? '';
    if (build.contextConfigMap !== undefined || fetched !== undefined) {
      const bytes =
        fetched ?? (await this.#o.api.configMapBinary(namespace, build.contextConfigMap?.name ?? '', contextKey));
      if (bytes === undefined)
        throw new BuildError(
          'BUILD_INVALID',
          `the context ConfigMap ${build.contextConfigMap?.name ?? ''} (key ${contextKey}) does not exist`,
        );
      const dir = path.join(
        this.#o.root,
        'build',
        'contexts',
        `${image.metadata.uid ?? 'x'}-${randomBytes(4).toString('hex')}`,
      );
      await mkdir(dir, { recursive: true, mode: 0o700 });
      try {
        await applyLayer(Readable.from([bytes]), dir);
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw new BuildError('BUILD_INVALID', `the uploaded context is not a tar archive: ${(err as Error).message}`, {
          cause: err,
        });
      }
      return { dir, release: () => rm(dir, { recursive: true, force: true }) };
    }
    if (build.context === undefined || build.context === '')
      throw new BuildError('BUILD_INVALID', 'spec.build needs a context or a contextConfigMap');
    let dir: string;
    try {
      dir = await realpath(build.context);
    } catch (err) {
      throw new BuildError('BUILD_INVALID', `the context ${build.context} does not exist on ${this.#o.nodeName}`, {
        cause: err,
      });
    }
    const allowed = this.#o.contextPrefixes.some((p) => dir === p || dir.startsWith(`${p}${path.sep}`));
    if (!allowed)
      throw new BuildError(
        'BUILD_INVALID',
        `the context ${build.context} is not under a directory node ${this.#o.nodeName} allows for builds; upload it (berth build does)`,
      );
    return { dir, release: async () => undefined };
  }
}

/** spec.platform, `os/arch[/variant]`; undefined (the node's own) when unset or not of that shape. */
function platformOf(value: string | undefined): Platform | undefined {
  const [os, architecture, variant, ...rest] = (value ?? '').split('/');
  if (os === undefined || os === '' || architecture === undefined || architecture === '' || rest.length > 0)
    return undefined;
  return { os, architecture, ...(variant !== undefined && variant !== '' ? { variant } : {}) };
}
