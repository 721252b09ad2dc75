// `berth push NAME[:TAG]`: sets `spec.push` on the Image named NAME, so the node holding it pushes it to the registry
// the name points at (blobs the registry has are skipped), and prints each layer's step and the digest as docker does.
import type { Image } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { CliError } from '../errors.js';
import { pushProgressPrinter } from '../output/pull-progress.js';
import { findImage } from './image-ref.js';
import { splitReference } from './images.js';
import { loginSecret } from './login.js';

export async function push(
  reference: string,
  options: { namespace?: string; timeout?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<Image> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const image = await findImage(client, reference);
  if (image === undefined || (image.spec.build === undefined && image.spec.from === undefined))
    throw new CliError(
      'BERTH_CLI_API',
      `An image does not exist locally with the tag: ${reference} (build, tag or commit it first)`,
    );
  const { repository, tag } = splitReference(reference);
  out.write(`The push refers to repository [${repository}]\n`);
  // The namespace's `berth login` Secret, if any, goes with the push (as `berth run` names it for pulls).
  const pullSecret = await loginSecret(client);
  const named = pullSecret === undefined || (image.spec.imagePullSecrets ?? []).some((s) => s.name === pullSecret);
  const written =
    image.spec.push === true && named
      ? image
      : await client.patch<Image>('images', image.metadata.name ?? '', {
          spec: {
            push: true,
            ...(named ? {} : { imagePullSecrets: [...(image.spec.imagePullSecrets ?? []), { name: pullSecret }] }),
          },
        });
  const generation = written.metadata.generation ?? 0;
  const layers = pushProgressPrinter(out);
  // A message left by an earlier push is not this one's progress.
  const stale = written.status?.message;
  let seen = false;
  const done = await waitFor<Image, Image>(
    client,
    'images',
    image.metadata.name ?? '',
    (i) => {
      const s = i?.status;
      if (s === undefined || i === undefined) return undefined;
      // Each layer's step as the agent reports it; the finished push's message holds the last of them.
      if (s.message !== stale) {
        seen = true;
        layers(s.message);
      }
      if (s.phase === 'Failed' && s.observedGeneration === generation) return i;
      return s.phase === 'Ready' && s.observedGeneration === generation && s.pushedDigest === s.digest ? i : undefined;
    },
    Number(options.timeout ?? '120') * 1000,
  );
  if (!seen) layers(done.status?.message);
  if (done.status?.phase === 'Failed') throw new CliError('BERTH_CLI_API', done.status.message ?? 'push failed');
  out.write(`${tag}: digest: ${done.status?.digest ?? ''} size: ${done.status?.size ?? 0}\n`);
  return done;
}
