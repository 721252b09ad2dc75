// `berth tag SOURCE TARGET`: an Image named TARGET made from SOURCE on the nodes that hold it (`spec.from.image`).
import type { Image } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { CliError } from '../errors.js';
import { localReference } from './image-ref.js';
import { imageObjectName } from './images.js';

export async function tag(
  source: string,
  target: string,
  options: { namespace?: string; timeout?: string },
): Promise<Image> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const from = await localReference(client, source);
  let image: Image;
  try {
    image = await imageFrom(client, target, from, Number(options.timeout ?? '30') * 1000);
  } catch (err) {
    throw new CliError('BERTH_CLI_API', `no node holds ${source} to tag it as ${target}`, { cause: err });
  }
  if (image.status?.phase === 'Failed') throw new CliError('BERTH_CLI_API', image.status.message ?? 'tag failed');
  return image;
}

/**
 * Makes the Image for `reference` one made from the image `from` (a digest or a reference) on the nodes that hold it:
 * created, or an existing one retargeted (its build dropped). Resolves once a node has settled it for that
 * generation, Ready or Failed.
 */
export async function imageFrom(client: ApiClient, reference: string, from: string, timeoutMs: number): Promise<Image> {
  const name = imageObjectName(reference);
  const existing = await client.find<Image>('images', name);
  const spec: Image['spec'] = { image: reference, from: { image: from } };
  const written =
    existing === undefined
      ? await client.create<Image>('images', {
          apiVersion: 'berth.dev/v1alpha1',
          kind: 'Image',
          metadata: { name },
          spec,
        })
      : await client.patch<Image>('images', name, { spec: { ...spec, build: null } });
  const generation = written.metadata.generation ?? 0;
  return waitFor<Image, Image>(
    client,
    'images',
    name,
    (i) =>
      i?.status?.observedGeneration === generation && (i.status.phase === 'Ready' || i.status.phase === 'Failed')
        ? i
        : undefined,
    timeoutMs,
  );
}
