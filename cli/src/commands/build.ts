// `berth build -t NAME[:TAG] [-f Dockerfile] [--build-arg K=V] [--target S] [--no-cache] [--push] DIR`: uploads the
// context (a gzip tar, honouring .dockerignore) as a ConfigMap, records an Image with `spec.build`, and follows its
// build as docker prints it: each step, its RUN output as it runs, "Using cache" or how long it ran (the Image's build
// log, followed from the building node), then the image ID and the tag from its status.
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Image } from '@berth/api';
import { isGitUrl } from '@berth/api/helpers';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { CliError, UsageError } from '../errors.js';
import { BuildLogFollow } from '../output/build-log.js';
import { imageObjectName } from './images.js';
import { loginSecret } from './login.js';

export interface BuildOptions {
  readonly tag?: string;
  readonly file?: string;
  readonly buildArg?: readonly string[];
  readonly target?: string;
  readonly cache?: boolean;
  readonly push?: boolean;
  readonly quiet?: boolean;
  readonly namespace?: string;
  /** Seconds to wait for the build. */
  readonly timeout?: string;
}

function buildArgs(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) {
      // As docker: `--build-arg NAME` takes NAME from the environment.
      const value = process.env[p];
      if (value === undefined) continue;
      out[p] = value;
    } else out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}

export async function build(
  dir: string,
  options: BuildOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<Image> {
  if (options.tag === undefined || options.tag === '') throw new UsageError('berth build needs -t NAME[:TAG]');
  const started = performance.now();
  const dockerfile = options.file ?? 'Dockerfile';
  // A git URL (`URL#ref:subdir`, as docker takes it) is fetched by the image build controller: nothing to upload.
  const fromGit = isGitUrl(dir);
  // Loaded on use: tar and the ignore matcher are not needed by other commands.
  const { packContext } = await import('../build-context/pack-context.js');
  const context = fromGit ? undefined : await packContext(resolve(dir), dockerfile);
  const client = new ApiClient(await connectToApi(options.namespace));
  const name = imageObjectName(options.tag);
  const quiet = options.quiet === true;
  if (!quiet && context !== undefined)
    out.write(`Sending build context to berth (${context.files} files, ${context.bytes.length} bytes)\n`);
  const existing = await client.find<Image>('images', name);
  // A new ConfigMap per build: a new name in spec.build makes a new generation, so the node builds again.
  const configMap = `${name}-context-${randomBytes(4).toString('hex')}`;
  const ns = encodeURIComponent(client.namespace);
  if (context !== undefined)
    await client.request('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: configMap,
        labels: { 'berth.dev/build-context-of': name },
        ...(existing?.metadata.uid !== undefined
          ? {
              ownerReferences: [{ apiVersion: 'berth.dev/v1alpha1', kind: 'Image', name, uid: existing.metadata.uid }],
            }
          : {}),
      },
      binaryData: { 'context.tar.gz': context.bytes.toString('base64') },
    });
  // As `berth run`: the namespace's `berth login` Secret, if any, serves the base images' pulls and the push.
  const pullSecret = await loginSecret(client);
  const spec: Image['spec'] = {
    image: options.tag,
    ...(options.push === true ? { push: true } : {}),
    ...(pullSecret !== undefined ? { imagePullSecrets: [{ name: pullSecret }] } : {}),
    build: {
      ...(context !== undefined ? { contextConfigMap: { name: configMap } } : { context: dir }),
      dockerfile,
      ...(options.buildArg !== undefined && options.buildArg.length > 0
        ? { buildArgs: buildArgs(options.buildArg) }
        : {}),
      ...(options.target !== undefined ? { target: options.target } : {}),
      ...(options.cache === false ? { noCache: true } : {}),
    },
  };
  const written =
    existing === undefined
      ? await client.create<Image>('images', {
          apiVersion: 'berth.dev/v1alpha1',
          kind: 'Image',
          metadata: { name },
          spec,
        })
      : await client.request<Image>('PUT', `/apis/berth.dev/v1alpha1/namespaces/${ns}/images/${name}`, {
          ...existing,
          spec,
        });
  if (context !== undefined && existing === undefined && written.metadata.uid !== undefined) {
    // The context goes with its Image (the garbage collector follows ownerReferences).
    await client.request(
      'PATCH',
      `/api/v1/namespaces/${ns}/configmaps/${configMap}`,
      {
        metadata: {
          ownerReferences: [{ apiVersion: 'berth.dev/v1alpha1', kind: 'Image', name, uid: written.metadata.uid }],
        },
      },
      'application/merge-patch+json',
    );
  }
  const generation = written.metadata.generation ?? 0;
  const follow = new BuildLogFollow(client, name, generation, out);
  let shown = 0;
  const printSteps = (steps: NonNullable<Image['status']>['steps'] = []) => {
    for (const step of steps.slice(shown)) {
      out.write(`Step ${step.step} : ${step.instruction}\n`);
      if (step.cached === true) out.write(' ---> Using cache\n');
      else if (step.cached === false) out.write(` ---> Ran in ${((step.milliseconds ?? 0) / 1000).toFixed(2)}s\n`);
    }
    shown = Math.max(shown, steps.length);
  };
  const result = await waitFor<Image, Image>(
    client,
    'images',
    name,
    (image) => {
      if (image === undefined) throw new CliError('BERTH_CLI_API', `Image ${name} was deleted during the build`);
      const s = image.status;
      if (s === undefined) return undefined;
      // The log is on the building node: followed once the Image names one (the agent waits for this generation's),
      // and on the next one if the build is bound again. Without it, the status's steps are printed at the end.
      if (!quiet && s.nodeName !== undefined) follow.follow(s.nodeName);
      return s.observedGeneration === generation && (s.phase === 'Ready' || s.phase === 'Failed') ? image : undefined;
    },
    Number(options.timeout ?? '600') * 1000,
  );
  // The node ends the log before it writes the final status: what remains of it is on its way.
  if (!quiet) {
    const followed = await follow.finish(10_000);
    if (followed === 'idle' || followed === 'failed' || followed === 'opening')
      printSteps(result.status?.observedGeneration === generation ? result.status.steps : []);
  }
  // The context of the build before this one is no longer needed.
  const old = existing?.spec.build?.contextConfigMap?.name;
  if (old !== undefined && old !== configMap)
    await client.request('DELETE', `/api/v1/namespaces/${ns}/configmaps/${old}`).catch(() => undefined);
  const status = result.status ?? {};
  if (status.phase === 'Failed') throw new CliError('BERTH_CLI_API', status.message ?? 'the build failed');
  const id = (status.imageID ?? '').replace(/^sha256:/, '').slice(0, 12);
  if (quiet) out.write(`${status.imageID ?? ''}\n`);
  else {
    const ran = (status.steps ?? []).filter((s) => s.cached === false).length;
    const cached = (status.steps ?? []).filter((s) => s.cached === true).length;
    out.write(
      `Successfully built ${id} (${ran} steps ran, ${cached} cached, ${((performance.now() - started) / 1000).toFixed(2)}s)\n`,
    );
    out.write(`Successfully tagged ${options.tag}\n`);
    if (options.push === true) out.write(`Pushed ${options.tag}@${status.digest ?? ''}\n`);
  }
  return result;
}
