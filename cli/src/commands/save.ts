// `berth save IMAGE… [-o FILE]`: the images as one OCI image layout tarball (with docker's manifest.json), as
// `docker save` writes it. Each image is exported by the agent of a node that holds it, through the API
// (`…/images/NAME/export`), and the exports are joined here; stdout when no file is given.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { type Command, Option } from 'commander';
import { connectToApi } from '../api-connection.js';
import { ApiClient, berthPath } from '../api/client.js';
import { openStream } from '../api/raw-stream.js';
import { CliError, UsageError } from '../errors.js';
import { findImage } from './image-ref.js';

export interface SaveOptions {
  readonly output?: string;
  readonly namespace?: string;
}

export function registerSave(program: Command): void {
  program
    .command('save')
    .description('write images to an OCI image layout tarball (docker save), streamed from the nodes that hold them')
    .argument('<images...>', 'images, NAME[:TAG]')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .addOption(new Option('-n, --namespace <namespace>', "the Images' namespace (default: the kubeconfig context's)"))
    .action(async (images: string[], opts: SaveOptions) => {
      await save(images, opts);
    });
}

export async function save(images: readonly string[], options: SaveOptions): Promise<void> {
  if (options.output === undefined && process.stdout.isTTY)
    throw new UsageError('cowardly refusing to save to a terminal; use -o FILE or redirect stdout');
  const client = new ApiClient(await connectToApi(options.namespace));
  const names: string[] = [];
  for (const reference of images) {
    const image = await findImage(client, reference);
    if (image?.metadata.name === undefined) throw new CliError('BERTH_CLI_API', `No such image: ${reference}`);
    if (image.status?.phase !== 'Ready')
      throw new CliError(
        'BERTH_CLI_API',
        `image ${reference} is not on a node yet (${image.status?.phase ?? 'Pending'})`,
      );
    names.push(image.metadata.name);
  }
  const { mergeArchives } = await import('../image-archive/merge-archives.js');
  const sources = names.map(
    (name) => () =>
      openStream(client.connection, {
        method: 'GET',
        path: `${berthPath('images', client.namespace, name)}/export`,
        accept: 'application/x-tar',
      }),
  );
  if (options.output === undefined) {
    await mergeArchives(sources, process.stdout as unknown as Writable);
    return;
  }
  // Written beside the file and renamed: a failed save leaves no half tarball under its name.
  const partial = `${options.output}.partial-${process.pid}`;
  try {
    await mergeArchives(sources, createWriteStream(partial));
    await rename(partial, options.output);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}
