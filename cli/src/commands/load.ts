// `berth load [-i FILE]`: an OCI image layout tarball (`berth save`, `docker save`, `skopeo copy … oci-archive:`)
// streamed through the API to a node's agent (`…/images/NAME/import`), which checks every blob's digest; then each
// name it carries becomes an Image made from that digest (as `berth tag` makes one), Ready once the node names it.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { type Command, Option } from 'commander';
import { connectToApi } from '../api-connection.js';
import { ApiClient, berthPath } from '../api/client.js';
import { openStream, readAll } from '../api/raw-stream.js';
import { CliError } from '../errors.js';
import { imageFrom } from './tag.js';

export interface LoadOptions {
  readonly input?: string;
  readonly quiet?: boolean;
  readonly namespace?: string;
  /** Seconds to wait for the loaded Images to be Ready. */
  readonly timeout?: string;
}

export function registerLoad(program: Command): void {
  program
    .command('load')
    .description('load images from an OCI image layout tarball (docker load) onto a node')
    .option('-i, --input <file>', 'read from this file instead of stdin')
    .option('-q, --quiet', 'print nothing but errors')
    .option('--timeout <seconds>', 'how long to wait for the loaded images to be named', '60')
    .addOption(new Option('-n, --namespace <namespace>', "the Images' namespace (default: the kubeconfig context's)"))
    .action(async (opts: LoadOptions) => {
      await load(opts);
    });
}

/** docker's short form of a name the node gives in full (`docker.io/library/busybox:latest` → `busybox:latest`). */
const familiar = (name: string) => name.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');

export async function load(
  options: LoadOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<readonly { digest: string; names: readonly string[] }[]> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const body: Readable = options.input === undefined ? process.stdin : createReadStream(options.input);
  const opened = new Promise<never>((_, reject) =>
    body.once('error', (e) =>
      reject(new CliError('BERTH_CLI_IO', `cannot read ${options.input ?? 'stdin'}: ${e.message}`, { cause: e })),
    ),
  );
  // The import is addressed at an Image's name only to reach a node: the first name does, whether it exists or not.
  const res = await Promise.race([
    openStream(client.connection, {
      method: 'POST',
      path: `${berthPath('images', client.namespace, 'load')}/import`,
      body,
      contentType: 'application/x-tar',
      accept: 'application/json',
    }),
    opened,
  ]);
  const answer = JSON.parse(await readAll(res)) as { images?: { digest: string; names: string[] }[] };
  const images = answer.images ?? [];
  const waits: Promise<unknown>[] = [];
  for (const image of images) {
    for (const full of image.names) {
      const reference = familiar(full);
      waits.push(
        imageFrom(client, reference, image.digest, Number(options.timeout ?? '60') * 1000).then((i) => {
          if (i.status?.phase === 'Failed')
            throw new CliError('BERTH_CLI_API', `loading ${reference}: ${i.status.message ?? 'failed'}`);
          if (options.quiet !== true) out.write(`Loaded image: ${reference}\n`);
        }),
      );
    }
    if (image.names.length === 0 && options.quiet !== true) out.write(`Loaded image ID: ${image.digest}\n`);
  }
  await Promise.all(waits);
  return images;
}
