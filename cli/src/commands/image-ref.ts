// Finding the Image object a user's image name means, and the digest reference a node resolves it by.
import type { Container, Image } from '@berth/api';
import type { ApiClient } from '../api/client.js';
import { CliError } from '../errors.js';
import { imageObjectName, splitReference } from './images.js';

const key = (reference: string) => {
  const { repository, tag } = splitReference(reference);
  return `${repository}:${tag}`;
};

/** The Image whose spec.image is `reference` (its usual object name first, then any of the namespace). */
export async function findImage(client: ApiClient, reference: string): Promise<Image | undefined> {
  const byName = await client.find<Image>('images', imageObjectName(reference));
  if (byName !== undefined) return byName;
  return (await client.list<Image>('images')).find((i) => key(i.spec.image) === key(reference));
}

/**
 * What a node can find `reference` by: `repo@digest` when an Image or a Container of the namespace knows its digest
 * (a pulled image has no local name, but its manifest is in the node's store by digest), else the name itself.
 */
export async function localReference(client: ApiClient, reference: string): Promise<string> {
  if (reference.includes('@')) return reference;
  const image = await findImage(client, reference);
  const { repository } = splitReference(reference);
  if (image?.status?.digest !== undefined && image.status.phase === 'Ready')
    return image.spec.from === undefined && image.spec.build === undefined
      ? `${repository}@${image.status.digest}`
      : reference;
  const c = (await client.list<Container>('containers')).find(
    (x) => key(x.spec.image) === key(reference) && x.status?.imageID !== undefined,
  );
  if (c?.status?.imageID !== undefined) return c.status.imageID;
  if (image === undefined) throw new CliError('BERTH_CLI_API', `No such image: ${reference}`);
  return reference;
}
