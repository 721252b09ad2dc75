// `berth rmi NAME…`: deletes the Image objects of the names; the nodes drop their local names for them (the image's
// blobs stay until image garbage collection).
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { CliError } from '../errors.js';
import { findImage } from './image-ref.js';

export async function rmi(
  names: readonly string[],
  options: { namespace?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const missing: string[] = [];
  for (const name of names) {
    const image = await findImage(client, name);
    if (image === undefined) {
      missing.push(name);
      continue;
    }
    await client.delete('images', image.metadata.name ?? '');
    out.write(`Untagged: ${image.spec.image}\n`);
    if (image.status?.digest !== undefined) out.write(`Deleted: ${image.status.digest}\n`);
  }
  if (missing.length > 0) throw new CliError('BERTH_CLI_API', `No such image: ${missing.join(', ')}`);
}
