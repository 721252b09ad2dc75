// The Dockerfile builder: composes the image store (pulls, content, layers), an overlay snapshotter and the
// crun runtime of its own data dir (`<root>/build`, so the Container reconciler never sees build containers).
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { goArchitecture, InvalidArgumentError } from '@berth/api';
import type { Platform } from '../distribution/manifest.js';
import type { ImageStore } from '../images/image-store.js';
import type { PulledImage } from '../images/images.js';
import type { ContainerNetwork, Runtime } from '../runtime/runtime.js';
import type { Snapshotter } from '../snapshots/snapshots.js';
import type { BuildOptions, BuildProgress, BuildResult, BuildStepResult, CommitOptions } from './build.js';
import { download } from './add-url.js';
import { BuildCache, stepKey } from './build-cache.js';
import { fileDigest, type SourceEntry, SourceTree } from './build-context.js';
import { type Instruction, parseDockerfile, type Stage } from './dockerfile.js';
import { BuildError } from './errors.js';
import { expandVariables } from './expand.js';
import { existsInImage, resolveUser } from './image-files.js';
import { type LayerEntry, writeLayer } from './layer-writer.js';
import { upperDirEntries, upperXattrs } from './upper-diff.js';

/** The image config as OCI keeps it; fields the builder does not know are carried over from the base untouched. */
interface OciConfig {
  [key: string]: unknown;
  User?: string;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, object>;
  Volumes?: Record<string, object>;
  StopSignal?: string;
  Shell?: string[];
  Healthcheck?: Record<string, unknown>;
  OnBuild?: string[] | null;
}

interface Layer {
  readonly digest: string;
  readonly diffID: string;
  readonly size: number;
  readonly mediaType: string;
  readonly dir: string;
}

interface StageState {
  layers: Layer[];
  config: OciConfig;
  /** The rest of the base's image config (architecture, os, …). */
  base: Record<string, unknown>;
  history: { created: string; created_by: string; empty_layer?: boolean }[];
  /** Key of the state so far: what the next step's cache key hangs from. */
  key: string;
  /** ARG values visible in this stage (not kept in the image). */
  args: Map<string, string>;
}

export interface BuilderOptions {
  readonly root: string;
  readonly images: ImageStore;
  readonly snapshots: Snapshotter;
  readonly runtime: Runtime;
}

const defaultShell = ['/bin/sh', '-c'];
const defaultPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function envMap(config: OciConfig): Map<string, string> {
  const map = new Map<string, string>();
  for (const e of config.Env ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0) map.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return map;
}

function setEnv(config: OciConfig, name: string, value: string): void {
  config.Env = [...(config.Env ?? []).filter((e) => !e.startsWith(`${name}=`)), `${name}=${value}`];
}

/** Which stages the target needs: its FROM chain and every COPY --from, in Dockerfile order. */
function neededStages(stages: readonly Stage[], target: Stage): Stage[] {
  const byName = (name: string) => stages.find((s) => s.name === name.toLowerCase() || String(s.index) === name);
  const need = new Set<number>();
  const visit = (s: Stage) => {
    if (need.has(s.index)) return;
    need.add(s.index);
    const base = byName(s.base);
    if (base !== undefined && base.index < s.index) visit(base);
    for (const i of s.instructions) {
      const from = i.flags.from;
      if ((i.keyword === 'COPY' || i.keyword === 'ADD') && from !== undefined) {
        const dep = byName(from);
        if (dep !== undefined && dep.index < s.index) visit(dep);
      }
    }
  };
  visit(target);
  return stages.filter((s) => need.has(s.index));
}

export class Builder {
  readonly #o: BuilderOptions;
  readonly #cache: BuildCache;

  constructor(options: BuilderOptions) {
    this.#o = options;
    this.#cache = new BuildCache(options.root, options.images.content, options.images.layers);
  }

  async build(given: BuildOptions): Promise<BuildResult> {
    const started = performance.now();
    const epoch = given.sourceDateEpoch ?? sourceDateEpochArg(given.buildArgs);
    const options: BuildOptions = epoch === undefined ? given : { ...given, sourceDateEpoch: epoch };
    const dockerfileName = options.dockerfile ?? 'Dockerfile';
    if (posix.normalize(dockerfileName).startsWith('..'))
      throw new InvalidArgumentError(`Dockerfile ${dockerfileName} must be inside the context`);
    let text: string;
    try {
      text = await readFile(join(options.context, dockerfileName), 'utf8');
    } catch (err) {
      throw new BuildError('DOCKERFILE_MISSING', `cannot read ${dockerfileName} in the context ${options.context}`, {
        cause: err,
      });
    }
    const parsed = parseDockerfile(text);
    const target =
      options.target === undefined
        ? parsed.stages.at(-1)
        : parsed.stages.find((s) => s.name === options.target?.toLowerCase());
    if (target === undefined)
      throw new BuildError('STAGE_NOT_FOUND', `target stage ${options.target ?? ''} is not in the Dockerfile`);
    const stages = neededStages(parsed.stages, target);
    const context = await SourceTree.walk(options.context, {
      dockerignore: true,
      keep: [dockerfileName, '.dockerignore'],
      maxBytes: options.maxContextBytes ?? 512 << 20,
    });
    const buildArgs = new Map(Object.entries(options.buildArgs ?? {}));
    const globals = new Map<string, string>();
    for (const [name, value] of parsed.globalArgs) {
      const v = buildArgs.get(name) ?? value;
      if (v !== undefined) globals.set(name, v);
    }
    const total = stages.reduce((n, s) => n + 1 + s.instructions.length, 0);
    const steps: BuildStepResult[] = [];
    const built = new Map<number, StageState>();
    let step = 0;
    const progress = (event: BuildProgress) => options.onProgress?.(event);
    let state: StageState | undefined;
    for (const stage of stages) {
      step++;
      const fromText = `FROM ${stage.base}${stage.name !== undefined ? ` AS ${stage.name}` : ''}`;
      const t0 = performance.now();
      progress({ kind: 'step', step, total, stage: stage.index, instruction: fromText, status: 'running' });
      state = await this.#from(stage, parsed.stages, built, globals, options);
      // Layers made under an epoch carry its times: they are not the ones a build without it (or another) made.
      if (options.sourceDateEpoch !== undefined)
        state.key = stepKey(state.key, 'SOURCE_DATE_EPOCH', options.sourceDateEpoch.getTime());
      const fromMs = performance.now() - t0;
      progress({ kind: 'step', step, total, stage: stage.index, instruction: fromText, status: 'done', ms: fromMs });
      steps.push({ step, stage: stage.index, instruction: fromText, cached: undefined, ms: fromMs });
      // As docker: the base's ONBUILD triggers run first, at the FROM's line, and the result does not keep them.
      const triggers = state.config.OnBuild ?? [];
      delete state.config.OnBuild;
      for (const instruction of [...onBuildInstructions(triggers, stage.line), ...stage.instructions]) {
        step++;
        const shown = `${instruction.keyword} ${instruction.args}`;
        const t1 = performance.now();
        let cached: boolean | undefined;
        // Before it runs, so its output follows its line in the build's log.
        progress({ kind: 'step', step, total, stage: stage.index, instruction: shown, status: 'running' });
        try {
          cached = await this.#step(state, instruction, {
            step,
            total,
            stage,
            stages: parsed.stages,
            built,
            buildArgs,
            globals,
            context,
            options,
            progress,
          });
        } catch (err) {
          progress({ kind: 'step', step, total, stage: stage.index, instruction: shown, status: 'failed' });
          throw err;
        }
        const ms = performance.now() - t1;
        progress({
          kind: 'step',
          step,
          total,
          stage: stage.index,
          instruction: shown,
          status: cached === true ? 'cached' : 'done',
          ...(cached !== undefined ? { cached } : {}),
          ms,
        });
        steps.push({ step, stage: stage.index, instruction: shown, cached, ms });
      }
      built.set(stage.index, state);
    }
    if (state === undefined) throw new BuildError('BUILD_INVALID', 'nothing to build');
    const stored = await this.#store(state, options.tags ?? [], options.sourceDateEpoch);
    return { ...stored, steps, ms: performance.now() - started };
  }

  /**
   * `berth commit`: the changes a container made (its overlay upper dir) as a new layer on top of its image, the
   * config changed by `changes` (Dockerfile instructions that touch only the config: CMD, ENV, EXPOSE, …).
   */
  async commit(options: CommitOptions): Promise<BuildResult> {
    const started = performance.now();
    const base = await this.#o.images.local(options.image);
    if (base === undefined)
      throw new BuildError('IMAGE_NOT_FOUND', `image ${options.image} of the container is not on this node`);
    const state = await this.#imageState(base);
    const parsed = parseDockerfile(`FROM scratch\n${(options.changes ?? []).join('\n')}\n`);
    const steps: BuildStepResult[] = [];
    let step = 0;
    for (const instruction of parsed.stages[0]?.instructions ?? []) {
      if (['RUN', 'COPY', 'ADD'].includes(instruction.keyword))
        throw new BuildError(
          'BUILD_INVALID',
          `${instruction.keyword} cannot be a commit change (only config instructions)`,
        );
      step++;
      const t0 = performance.now();
      if (instruction.keyword === 'WORKDIR') {
        state.config.WorkingDir = posix.resolve(state.config.WorkingDir ?? '/', instruction.args.trim());
      } else {
        await this.#step(state, instruction, {
          step,
          total: 0,
          stage: parsed.stages[0] as Stage,
          stages: parsed.stages,
          built: new Map(),
          buildArgs: new Map(),
          globals: new Map(),
          context: undefined,
          options: { context: '' },
          progress: () => undefined,
        });
      }
      steps.push({
        step,
        stage: 0,
        instruction: `${instruction.keyword} ${instruction.args}`,
        cached: undefined,
        ms: performance.now() - t0,
      });
    }
    const layer = await writeLayer(upperDirEntries(options.upper, options.idRange), {
      content: this.#o.images.content,
      layers: this.#o.images.layers,
      tmpDir: join(this.#o.root, 'build', 'tmp'),
    });
    state.layers.push(layer);
    state.history.push({
      created: new Date().toISOString(),
      created_by: 'berth commit',
      ...(options.message !== undefined ? { comment: options.message } : {}),
    });
    const stored = await this.#store(state, options.tags ?? [], undefined);
    return { ...stored, steps, ms: performance.now() - started };
  }

  async #store(
    state: StageState,
    tags: readonly string[],
    sourceDateEpoch: Date | undefined,
  ): Promise<Omit<BuildResult, 'steps' | 'ms'>> {
    const created = (sourceDateEpoch ?? new Date()).toISOString();
    const config = {
      ...state.base,
      created,
      architecture: (state.base.architecture as string | undefined) ?? 'amd64',
      os: (state.base.os as string | undefined) ?? 'linux',
      config: state.config,
      rootfs: { type: 'layers', diff_ids: state.layers.map((l) => l.diffID) },
      history: state.history,
    };
    const stored = await this.#o.images.storeImage(config, state.layers);
    // Named only once the image is whole: a failed build tags nothing.
    for (const tag of tags) await this.#o.images.names.set(tag, stored.digest);
    return {
      digest: stored.digest,
      imageID: stored.configDigest,
      size: stored.size,
      layers: stored.manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
      tags: [...tags],
    };
  }

  async #from(
    stage: Stage,
    all: readonly Stage[],
    built: ReadonlyMap<number, StageState>,
    globals: ReadonlyMap<string, string>,
    options: BuildOptions,
  ): Promise<StageState> {
    const base = expandVariables(stage.base, globals);
    const earlier = all.find((s) => s.index < stage.index && s.name !== undefined && s.name === base.toLowerCase());
    if (earlier !== undefined) {
      const from = built.get(earlier.index);
      if (from === undefined)
        throw new BuildError('STAGE_NOT_FOUND', `stage ${base} was not built`, { line: stage.line });
      return {
        layers: [...from.layers],
        config: structuredClone(from.config),
        base: { ...from.base },
        history: [...from.history],
        key: stepKey('stage', from.key),
        args: new Map(),
      };
    }
    if (base === 'scratch')
      return {
        layers: [],
        config: { Env: [defaultPath] },
        base: {},
        history: [],
        key: stepKey('scratch'),
        args: new Map(),
      };
    const platform = stagePlatform(stage, globals);
    let image: PulledImage;
    try {
      image =
        (await this.#o.images.local(base)) ??
        (await this.#o.images.pull(base, { ...pullOptions(options), ...(platform !== undefined ? { platform } : {}) }));
    } catch (err) {
      throw new BuildError('BASE_IMAGE_FAILED', `cannot get base image ${base}: ${(err as Error).message}`, {
        cause: err,
        line: stage.line,
      });
    }
    return this.#imageState(image);
  }

  /** The state an image gives a stage: its layers and its whole config (fields the builder does not know kept). */
  async #imageState(image: PulledImage): Promise<StageState> {
    const manifest = JSON.parse((await this.#o.images.content.readBlob(image.digest)).toString('utf8')) as {
      config: { digest: string };
      layers: { mediaType: string }[];
    };
    const raw = JSON.parse((await this.#o.images.content.readBlob(manifest.config.digest)).toString('utf8')) as Record<
      string,
      unknown
    >;
    const { config, rootfs: _rootfs, history, created: _created, ...rest } = raw;
    return {
      layers: image.layers.map((l, i) => ({
        digest: l.digest,
        diffID: l.diffID,
        size: l.size,
        mediaType: manifest.layers[i]?.mediaType ?? 'application/vnd.oci.image.layer.v1.tar+gzip',
        dir: l.dir,
      })),
      config: structuredClone((config as OciConfig | undefined) ?? {}),
      base: rest,
      history: Array.isArray(history) ? (history as StageState['history']) : [],
      key: stepKey('image', image.digest),
      args: new Map(),
    };
  }

  /** One instruction; returns whether its layer came from the cache (undefined for config-only instructions). */
  async #step(
    state: StageState,
    instruction: Instruction,
    ctx: {
      step: number;
      total: number;
      stage: Stage;
      stages: readonly Stage[];
      built: ReadonlyMap<number, StageState>;
      buildArgs: ReadonlyMap<string, string>;
      globals: ReadonlyMap<string, string>;
      context: SourceTree | undefined;
      options: BuildOptions;
      progress: (event: BuildProgress) => void;
    },
  ): Promise<boolean | undefined> {
    const { line, keyword } = instruction;
    const vars = new Map([...state.args, ...envMap(state.config)]);
    const expand = (s: string) => expandVariables(s, vars);
    const created = (ctx.options.sourceDateEpoch ?? new Date()).toISOString();
    const shell = state.config.Shell ?? defaultShell;
    const commandOf = (i: Instruction): string[] => (i.json !== undefined ? [...i.json] : [...shell, i.args]);
    const configOnly = (text: string) => {
      state.key = stepKey(state.key, keyword, text);
      state.history.push({ created, created_by: `${keyword} ${text}`, empty_layer: true });
      return undefined;
    };
    switch (keyword) {
      case 'ENV': {
        for (const [name, value] of instruction.properties) setEnv(state.config, name, expand(value ?? ''));
        return configOnly(instruction.properties.map(([n]) => `${n}=${envMap(state.config).get(n) ?? ''}`).join(' '));
      }
      case 'ARG': {
        const [name, value] = instruction.properties[0] ?? ['', undefined];
        const v = ctx.buildArgs.get(name) ?? (value !== undefined ? expand(value) : ctx.globals.get(name));
        if (v !== undefined) state.args.set(name, v);
        // As docker: a changed ARG value misses the cache where it is used (every later RUN sees it in its
        // environment, a COPY or WORKDIR in its expanded text), not at its definition.
        state.history.push({ created, created_by: `ARG ${name}`, empty_layer: true });
        return undefined;
      }
      case 'LABEL': {
        const labels = { ...(state.config.Labels ?? {}) };
        for (const [name, value] of instruction.properties) labels[expand(name)] = expand(value ?? '');
        state.config.Labels = labels;
        return configOnly(expand(instruction.args));
      }
      case 'MAINTAINER': {
        state.base.author = instruction.args;
        return configOnly(instruction.args);
      }
      case 'USER':
        state.config.User = expand(instruction.args.trim());
        return configOnly(state.config.User);
      case 'EXPOSE': {
        const ports = { ...(state.config.ExposedPorts ?? {}) };
        for (const w of instruction.words) {
          const p = expand(w);
          ports[p.includes('/') ? p : `${p}/tcp`] = {};
        }
        state.config.ExposedPorts = ports;
        return configOnly(expand(instruction.args));
      }
      case 'VOLUME': {
        const volumes = { ...(state.config.Volumes ?? {}) };
        for (const v of instruction.json ?? instruction.words) volumes[expand(v)] = {};
        state.config.Volumes = volumes;
        return configOnly(instruction.args);
      }
      case 'STOPSIGNAL':
        state.config.StopSignal = expand(instruction.args.trim());
        return configOnly(state.config.StopSignal);
      case 'SHELL':
        if (instruction.json === undefined)
          throw new BuildError('DOCKERFILE_SYNTAX', 'SHELL must be written in JSON form', { line });
        state.config.Shell = [...instruction.json];
        return configOnly(instruction.args);
      case 'CMD':
        state.config.Cmd = commandOf(instruction);
        return configOnly(instruction.args);
      case 'ENTRYPOINT':
        state.config.Entrypoint = commandOf(instruction);
        // As docker: a new ENTRYPOINT drops a CMD inherited from the base (a CMD later in the stage sets it again).
        state.config.Cmd = null;
        return configOnly(instruction.args);
      case 'ONBUILD':
        state.config.OnBuild = [...(state.config.OnBuild ?? []), instruction.args];
        return configOnly(instruction.args);
      case 'HEALTHCHECK': {
        const words = instruction.words;
        if (words[0]?.toUpperCase() === 'NONE') state.config.Healthcheck = { Test: ['NONE'] };
        else {
          const cmdAt = instruction.args.search(/\bCMD\b/i);
          const rest = cmdAt >= 0 ? instruction.args.slice(cmdAt + 3).trim() : instruction.args;
          const json = (() => {
            try {
              const v: unknown = JSON.parse(rest);
              return Array.isArray(v) ? (v as string[]) : undefined;
            } catch {
              return undefined;
            }
          })();
          const seconds = (f: string | undefined) =>
            f === undefined
              ? undefined
              : Math.round(Number.parseFloat(f) * (f.endsWith('ms') ? 1e6 : f.endsWith('m') ? 6e10 : 1e9));
          state.config.Healthcheck = {
            Test: json !== undefined ? ['CMD', ...json] : ['CMD-SHELL', rest],
            ...(instruction.flags.interval !== undefined ? { Interval: seconds(instruction.flags.interval) } : {}),
            ...(instruction.flags.timeout !== undefined ? { Timeout: seconds(instruction.flags.timeout) } : {}),
            ...(instruction.flags.retries !== undefined ? { Retries: Number(instruction.flags.retries) } : {}),
          };
        }
        return configOnly(instruction.args);
      }
      case 'WORKDIR': {
        const dir = posix.resolve(state.config.WorkingDir ?? '/', expand(instruction.args.trim()));
        state.config.WorkingDir = dir;
        const top = state.layers.map((l) => l.dir).reverse();
        if (dir === '/' || (await existsInImage(top, dir))) return configOnly(dir);
        // The directory is made as a layer of its own (as BuildKit does), cached like any other.
        const key = stepKey(state.key, 'WORKDIR', dir);
        return this.#layerStep(state, key, `WORKDIR ${dir}`, ctx.options, async () => [
          { kind: 'directory', name: dir.slice(1), mode: 0o755, uid: 0, gid: 0, mtime: new Date(created) },
        ]);
      }
      case 'COPY':
      case 'ADD':
        return this.#copy(state, instruction, expand, ctx);
      case 'RUN': {
        const { args, script } = runCommand(instruction, shell);
        const network = runNetwork(instruction, ctx.options.allowNetworkHost === true);
        const key = stepKey(
          state.key,
          'RUN',
          args,
          script?.content ?? '',
          network.kind === 'host' ? 'network=host' : '',
          [...state.args].sort(),
          ctx.options.noCache === true ? randomBytes(8).toString('hex') : '',
        );
        return this.#layerStep(state, key, `RUN ${instruction.args}`, ctx.options, () =>
          this.#run(state, args, network, script, instruction, ctx),
        );
      }
      default:
        throw new BuildError('DOCKERFILE_SYNTAX', `${keyword} is not supported`, { line });
    }
  }

  /**
   * A layer-making step: from the cache when its key is there (and --no-cache is off), else `make` gives its
   * entries; the layer is written, recorded in the cache, and stacked on the state.
   */
  async #layerStep(
    state: StageState,
    key: string,
    createdBy: string,
    options: BuildOptions,
    make: () => Promise<
      | AsyncIterable<LayerEntry>
      | Iterable<LayerEntry>
      | { entries: AsyncIterable<LayerEntry>; done: () => Promise<void> }
    >,
  ): Promise<boolean> {
    const created = (options.sourceDateEpoch ?? new Date()).toISOString();
    const hit = options.noCache === true ? undefined : await this.#cache.get(key);
    let layer: Layer;
    let cached: boolean;
    if (hit !== undefined) {
      layer = hit;
      cached = true;
    } else {
      const made = await make();
      const isRun = typeof made === 'object' && made !== null && 'done' in made;
      try {
        layer = await writeLayer(isRun ? made.entries : made, {
          content: this.#o.images.content,
          layers: this.#o.images.layers,
          tmpDir: join(this.#o.root, 'build', 'tmp'),
          ...(options.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.sourceDateEpoch } : {}),
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
        });
      } finally {
        if (isRun) await made.done();
      }
      await this.#cache.set(key, layer);
      cached = false;
    }
    state.layers.push(layer);
    state.key = key;
    state.history.push({ created, created_by: createdBy });
    return cached;
  }

  async #run(
    state: StageState,
    args: string[],
    network: ContainerNetwork,
    script: { readonly path: string; readonly content: string } | undefined,
    instruction: Instruction,
    ctx: { step: number; options: BuildOptions; progress: (event: BuildProgress) => void },
  ): Promise<{ entries: AsyncIterable<LayerEntry>; done: () => Promise<void> }> {
    const id = `build-${randomBytes(6).toString('hex')}`;
    const lowers = state.layers.map((l) => l.dir).reverse();
    const snapshot = await this.#o.snapshots.prepare(id, lowers);
    // A here-document script with a #! line is a file the step executes, bound in from outside the layer.
    const scriptFile = script === undefined ? undefined : join(this.#o.root, 'build', 'tmp', `${id}-script`);
    const done = async () => {
      await this.#o.runtime.delete(id, { force: true }).catch(() => undefined);
      if (scriptFile !== undefined) await rm(scriptFile, { force: true });
      await this.#o.snapshots.remove(id);
    };
    try {
      const cwd = state.config.WorkingDir ?? '/';
      await mkdir(join(snapshot.rootfs, cwd), { recursive: true });
      const user =
        state.config.User !== undefined && state.config.User !== ''
          ? await resolveUser(lowers, state.config.User, instruction.line)
          : { uid: 0, gid: 0 };
      const env: Record<string, string> = Object.fromEntries([...state.args, ...envMap(state.config)]);
      if (scriptFile !== undefined && script !== undefined) {
        await mkdir(join(this.#o.root, 'build', 'tmp'), { recursive: true });
        await writeFile(scriptFile, script.content, { mode: 0o755 });
      }
      const mounts =
        scriptFile !== undefined && script !== undefined
          ? [{ destination: script.path, source: scriptFile, readOnly: true }]
          : [];
      await this.#o.runtime.run(id, { args, env, cwd, user, rootfs: snapshot.rootfs, network, mounts });
      const tail: string[] = [];
      for await (const chunk of this.#o.runtime.logs(id, { follow: true, pollMs: 20 }) as AsyncIterable<Buffer>) {
        const text = chunk.toString('utf8');
        ctx.progress({ kind: 'output', step: ctx.step, text });
        tail.push(...text.split('\n').filter((l) => l !== ''));
        tail.splice(0, Math.max(0, tail.length - 10));
      }
      const exited = await this.#o.runtime.state(id);
      if (exited.exitCode !== 0)
        throw new BuildError(
          'RUN_FAILED',
          `RUN ${instruction.args} exited with code ${exited.exitCode ?? 'unknown'}${tail.length > 0 ? `:\n${tail.join('\n')}` : ''}`,
          { line: instruction.line },
        );
    } catch (err) {
      await done();
      throw err;
    }
    return { entries: upperDirEntries(snapshot.upper), done };
  }

  async #copy(
    state: StageState,
    instruction: Instruction,
    expand: (s: string) => string,
    ctx: {
      stage: Stage;
      stages: readonly Stage[];
      built: ReadonlyMap<number, StageState>;
      context: SourceTree | undefined;
      options: BuildOptions;
    },
  ): Promise<boolean> {
    const { line, keyword } = instruction;
    const words = instruction.json ?? instruction.words.map(expand);
    if (words.length < 2)
      throw new BuildError('DOCKERFILE_SYNTAX', `${keyword} needs a source and a destination`, { line });
    const sources = words.slice(0, -1);
    const destWord = words.at(-1) as string;
    const dest = posix.resolve(state.config.WorkingDir ?? '/', destWord);
    const destIsDir = destWord.endsWith('/') || sources.length > 1 || destWord === '.';
    const top = state.layers.map((l) => l.dir).reverse();
    const owner =
      instruction.flags.chown !== undefined ? await resolveUser(top, expand(instruction.flags.chown), line) : undefined;
    const mtime = new Date((ctx.options.sourceDateEpoch ?? new Date()).getTime());
    // The source tree: the context, or another stage (mounted read-only for the copy).
    let tree: SourceTree | undefined = ctx.context;
    let fromKey = '';
    let release = async () => undefined as void;
    let fromXattrs: ReadonlyMap<string, ReadonlyMap<string, Buffer>> = new Map();
    const from = instruction.flags.from;
    if (from !== undefined) {
      const name = expand(from).toLowerCase();
      const stage = ctx.stages.find((s) => s.index < ctx.stage.index && (s.name === name || String(s.index) === name));
      let layers: readonly Layer[];
      if (stage !== undefined) {
        const built = ctx.built.get(stage.index);
        if (built === undefined) throw new BuildError('STAGE_NOT_FOUND', `stage ${from} was not built`, { line });
        layers = built.layers;
        fromKey = built.key;
      } else {
        let image: PulledImage;
        try {
          image = (await this.#o.images.local(name)) ?? (await this.#o.images.pull(name, pullOptions(ctx.options)));
        } catch (err) {
          throw new BuildError(
            'BASE_IMAGE_FAILED',
            `cannot get ${keyword} --from image ${name}: ${(err as Error).message}`,
            {
              cause: err,
              line,
            },
          );
        }
        layers = image.layers.map((l) => ({ ...l, mediaType: '' }));
        fromKey = image.digest;
      }
      const id = `build-${randomBytes(6).toString('hex')}`;
      const snapshot = await this.#o.snapshots.prepare(id, layers.map((l) => l.dir).reverse());
      release = () => this.#o.snapshots.remove(id);
      try {
        tree = await SourceTree.walk(snapshot.rootfs);
        // As BuildKit: a file copied from a stage or an image keeps its xattrs (a binary's file capabilities).
        fromXattrs = await upperXattrs(snapshot.rootfs);
      } catch (err) {
        await release();
        throw err;
      }
    }
    try {
      if (tree === undefined) throw new BuildError('BUILD_INVALID', `${keyword} needs a build context`, { line });
      const entries: LayerEntry[] = [];
      const digestParts: unknown[] = [];
      const add = async (e: SourceEntry, name: string) => {
        // As docker: copied files belong to root unless --chown says otherwise.
        const uid = owner?.uid ?? 0;
        const gid = owner?.gid ?? 0;
        const xattrs = new Map([...(fromXattrs.get(e.abs) ?? [])].filter(([n]) => !n.startsWith('trusted.overlay.')));
        const common = {
          name: name.replace(/^\/+/, ''),
          mode: e.mode,
          uid,
          gid,
          mtime: e.mtime > mtime ? mtime : e.mtime,
          ...(xattrs.size > 0 ? { xattrs } : {}),
        };
        if (e.type === 'directory') entries.push({ ...common, kind: 'directory' });
        else if (e.type === 'symlink') entries.push({ ...common, kind: 'symlink', linkname: e.linkname ?? '' });
        else {
          entries.push({ ...common, kind: 'file', size: e.size, source: e.abs });
          digestParts.push(await fileDigest(e.abs));
        }
        digestParts.push([
          common.name,
          e.type,
          e.mode,
          uid,
          gid,
          e.linkname ?? '',
          [...xattrs].map(([n, v]) => [n, v.toString('base64')]),
        ]);
      };
      const checksum = instruction.flags.checksum;
      if (checksum !== undefined && (keyword !== 'ADD' || !sources.every((src) => isUrl(src))))
        throw new BuildError('DOCKERFILE_SYNTAX', '--checksum is only for ADD of a URL', { line });
      for (const source of sources) {
        const heredoc = instruction.heredocs.find((h) => h.word === source);
        if (heredoc !== undefined) {
          // As BuildKit: the body is the file (named after the here-document in a directory); unquoted, it expands.
          const data = Buffer.from(heredoc.quoted ? heredoc.content : expand(heredoc.content));
          const name = destIsDir ? posix.join(dest, heredoc.name) : dest;
          const uid = owner?.uid ?? 0;
          const gid = owner?.gid ?? 0;
          entries.push({ kind: 'bytes', name: name.slice(1), mode: 0o644, uid, gid, mtime, data });
          digestParts.push(['heredoc', name, createHash('sha256').update(data).digest('hex'), uid, gid]);
          continue;
        }
        if (isUrl(source)) {
          if (keyword !== 'ADD')
            throw new BuildError('BUILD_INVALID', `COPY cannot copy a URL (${source}); ADD can`, { line });
          const file = await download(source, checksum, line, ctx.options.signal);
          if (destIsDir && file.name === '')
            throw new BuildError('BUILD_INVALID', `ADD ${source}: the URL names no file; give a file destination`, {
              line,
            });
          const name = destIsDir ? posix.join(dest, file.name) : dest;
          const uid = owner?.uid ?? 0;
          const gid = owner?.gid ?? 0;
          // As docker: a downloaded file is 0600 with the server's Last-Modified time, and is never unpacked.
          entries.push({
            kind: 'bytes',
            name: name.slice(1),
            mode: 0o600,
            uid,
            gid,
            mtime: file.mtime,
            data: file.data,
          });
          digestParts.push(['url', source, name, file.digest, file.mtime.getTime(), uid, gid]);
          continue;
        }
        const { matched, below } = tree.select(source, line);
        const many = destIsDir || matched.length > 1;
        for (const m of matched) {
          if (m.type === 'directory') {
            // A directory's contents land in dest, as docker copies them.
            for (const e of below.get(m.rel) ?? []) {
              const rel = m.rel === '' ? e.rel : e.rel.slice(m.rel.length + 1);
              await add(e, posix.join(dest, rel));
            }
          } else if (keyword === 'ADD' && m.type === 'file' && (await isArchive(m.abs))) {
            const extracted = await archiveEntries(m.abs, dest, owner);
            entries.push(...extracted);
            digestParts.push(await fileDigest(m.abs), dest);
          } else {
            await add(m, many ? posix.join(dest, posix.basename(m.rel)) : dest);
          }
        }
      }
      const key = stepKey(
        state.key,
        keyword,
        words,
        instruction.flags,
        fromKey,
        digestParts,
        ctx.options.noCache === true ? randomBytes(8).toString('hex') : '',
      );
      return await this.#layerStep(state, key, `${keyword} ${instruction.args}`, ctx.options, async () => entries);
    } finally {
      await release();
    }
  }
}

async function isArchive(path: string): Promise<boolean> {
  const head = await readFile(path).then((b) => b.subarray(0, 512));
  if (head[0] === 0x1f && head[1] === 0x8b) return true;
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

/** A local archive ADD unpacks: its entries re-rooted at `dest` (kept in memory; ADD archives are small here). */
async function archiveEntries(
  path: string,
  dest: string,
  owner: { uid: number; gid: number } | undefined,
): Promise<LayerEntry[]> {
  const { default: tar } = await import('tar-stream');
  const { createGunzip } = await import('node:zlib');
  const { createReadStream } = await import('node:fs');
  const { Readable } = await import('node:stream');
  const head = await readFile(path).then((b) => b.subarray(0, 2));
  let input: NodeJS.ReadableStream = createReadStream(path);
  if (head[0] === 0x1f && head[1] === 0x8b) input = input.pipe(createGunzip());
  const extract = tar.extract();
  (Readable.from(input as AsyncIterable<Buffer>) as NodeJS.ReadableStream).pipe(
    extract as unknown as NodeJS.WritableStream,
  );
  const out: LayerEntry[] = [];
  for await (const entry of extract as AsyncIterable<AsyncIterable<Buffer> & { header: import('tar-stream').Header }>) {
    const h = entry.header;
    const name = posix.join(dest, posix.normalize(`/${h.name}`)).replace(/^\/+/, '');
    const common = {
      name,
      mode: h.mode ?? 0o644,
      uid: owner?.uid ?? h.uid ?? 0,
      gid: owner?.gid ?? h.gid ?? 0,
      mtime: h.mtime ?? new Date(0),
    };
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c);
    if (h.type === 'directory') out.push({ ...common, name: name.replace(/\/$/, ''), kind: 'directory' });
    else if (h.type === 'symlink') out.push({ ...common, kind: 'symlink', linkname: h.linkname ?? '' });
    else if (h.type === 'link')
      out.push({ ...common, kind: 'hardlink', linkname: posix.join(dest, `/${h.linkname ?? ''}`).replace(/^\/+/, '') });
    else if (h.type === 'file' || h.type === undefined)
      out.push({ ...common, kind: 'bytes', data: Buffer.concat(chunks) });
  }
  return out;
}

/**
 * A RUN's command. A here-document that is the whole command is the script (BuildKit's `RUN <<EOF`); one that feeds
 * a command (`RUN cat <<EOF > f`) is left in the shell text, which the shell reads as a here-document itself.
 */
function runCommand(
  instruction: Instruction,
  shell: readonly string[],
): { args: string[]; script?: { path: string; content: string } } {
  if (instruction.json !== undefined) return { args: [...instruction.json] };
  const [only] = instruction.heredocs;
  if (only !== undefined && instruction.heredocs.length === 1 && instruction.words.join(' ') === only.word) {
    // As BuildKit: a script that names its interpreter (#!) runs as a file under /dev/pipes; any other is sh -c.
    if (!only.content.startsWith('#!')) return { args: [...shell, only.content] };
    const path = `/dev/pipes/${only.name.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
    return { args: [path], script: { path, content: only.content } };
  }
  return { args: [...shell, instruction.args] };
}

/** `RUN --network`: none (the default: a network namespace with loopback only) or host; BuildKit's `default` is none here. */
function runNetwork(instruction: Instruction, allowHost: boolean): ContainerNetwork {
  const mode = instruction.flags.network ?? 'none';
  if (mode === 'none' || mode === 'default') return { kind: 'loopback' };
  if (mode === 'host' && allowHost) return { kind: 'host' };
  if (mode === 'host')
    throw new BuildError(
      'BUILD_INVALID',
      'RUN --network=host is not allowed on this node (its agent must be started with buildNetworkHost, as buildkitd needs the network.host entitlement)',
      { line: instruction.line },
    );
  throw new BuildError('DOCKERFILE_SYNTAX', `RUN --network=${mode}: berth builds know none, default (none) and host`, {
    line: instruction.line,
  });
}

const isUrl = (source: string) => /^https?:\/\//i.test(source);

/** A base image's ONBUILD triggers as instructions of the stage built on it, placed at its FROM line. */
function onBuildInstructions(triggers: readonly string[], line: number): Instruction[] {
  if (triggers.length === 0) return [];
  for (const trigger of triggers)
    if (/^\s*(ONBUILD|FROM|MAINTAINER)\b/i.test(trigger))
      throw new BuildError('DOCKERFILE_SYNTAX', `the base image's ONBUILD ${trigger}: not allowed as a trigger`, {
        line,
      });
  const parsed = parseDockerfile(`FROM scratch\n${triggers.join('\n')}\n`);
  return (parsed.stages[0]?.instructions ?? []).map((i) => ({ ...i, line }));
}

/** BuildKit's `--build-arg SOURCE_DATE_EPOCH=<seconds>`: reproducible file times and `created`. */
function sourceDateEpochArg(args: Readonly<Record<string, string>> | undefined): Date | undefined {
  const value = args?.['SOURCE_DATE_EPOCH'];
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,12}$/.test(value))
    throw new BuildError('BUILD_INVALID', `SOURCE_DATE_EPOCH=${value}: expected whole seconds since 1970-01-01`);
  return new Date(Number(value) * 1000);
}

/** This node's platform, which BuildKit's automatic BUILDPLATFORM and TARGETPLATFORM args name (no cross builds). */
const nodePlatform: Platform = { os: 'linux', architecture: goArchitecture(process.arch) };

/**
 * `FROM --platform=P`: P (with the stage's global args and BuildKit's automatic platform args expanded) chooses
 * the base's manifest from an index; unset, the node's own.
 */
function stagePlatform(stage: Stage, globals: ReadonlyMap<string, string>): Platform | undefined {
  if (stage.platform === undefined) return undefined;
  const name = `${nodePlatform.os}/${nodePlatform.architecture}`;
  const automatic = new Map([
    ['BUILDPLATFORM', name],
    ['TARGETPLATFORM', name],
    ['BUILDOS', nodePlatform.os],
    ['TARGETOS', nodePlatform.os],
    ['BUILDARCH', nodePlatform.architecture],
    ['TARGETARCH', nodePlatform.architecture],
  ]);
  const value = expandVariables(stage.platform, new Map([...automatic, ...globals])).trim();
  if (value === '') return undefined;
  const [os = '', architecture = '', variant] = value.split('/');
  if (os === '' || architecture === '' || value.split('/').length > 3)
    throw new BuildError('DOCKERFILE_SYNTAX', `FROM --platform=${value}: expected os/arch[/variant]`, {
      line: stage.line,
    });
  return { os, architecture, ...(variant !== undefined && variant !== '' ? { variant } : {}) };
}

const pullOptions = (options: BuildOptions) => ({
  ...(options.signal !== undefined ? { signal: options.signal } : {}),
  ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
});
