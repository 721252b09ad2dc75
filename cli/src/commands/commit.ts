// `berth commit CONTAINER NAME[:TAG] [-c 'CMD …'] [-m MSG] [--no-pause]`: an Image made from the Container's changes (its
// writable layer) on top of its image, by the node it runs on (`spec.from.container`).
import type { Container, Image } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { CliError } from '../errors.js';
import { imageObjectName } from './images.js';

export async function commit(
  container: string,
  reference: string,
  options: { change?: string[]; message?: string; pause?: boolean; namespace?: string; timeout?: string },
): Promise<Image> {
  const client = new ApiClient(await connectToApi(options.namespace));
  if ((await client.find<Container>('containers', container)) === undefined)
    throw new CliError('BERTH_CLI_API', `No such container: ${container}`);
  const name = imageObjectName(reference);
  const spec: Image['spec'] = {
    image: reference,
    from: {
      container,
      ...(options.change !== undefined && options.change.length > 0 ? { changes: options.change } : {}),
      ...(options.message !== undefined ? { message: options.message } : {}),
      ...(options.pause === false ? { pause: false } : {}),
    },
  };
  const existing = await client.find<Image>('images', name);
  if (existing !== undefined) await client.delete('images', name);
  const written = await client.create<Image>('images', {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Image',
    metadata: { name },
    spec,
  });
  const generation = written.metadata.generation ?? 0;
  const image = await waitFor<Image, Image>(
    client,
    'images',
    name,
    (i) =>
      i?.metadata.uid === written.metadata.uid &&
      i?.status?.observedGeneration === generation &&
      (i.status.phase === 'Ready' || i.status.phase === 'Failed')
        ? i
        : undefined,
    Number(options.timeout ?? '60') * 1000,
  );
  if (image.status?.phase === 'Failed') throw new CliError('BERTH_CLI_API', image.status.message ?? 'commit failed');
  return image;
}
