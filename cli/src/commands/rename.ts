// `berth rename OLD NEW`: an object's name cannot change in the API, so the Container is made again under the new
// name from the same spec (on the same node) once the old one is gone. Unlike docker's rename it gets a new id and
// a running container starts afresh; the CLI says so.

import type { Container } from '@berth/api';
import { signalAnnotation } from '@berth/api/helpers';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { resolveContainer } from '../docker/resolve.js';
import { CliError } from '../errors.js';
import { createContainer } from './run.js';

export async function rename(
  ref: string,
  newName: string,
  options: { readonly namespace?: string },
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const old = await resolveContainer(client, ref);
  const oldName = old.metadata.name ?? '';
  if (oldName === newName)
    throw new CliError('BERTH_CLI_API', 'Renaming a container with the same name as its current name');
  if ((await client.find<Container>('containers', newName)) !== undefined)
    throw new CliError('BERTH_CLI_API', `Conflict. The container name "${newName}" is already in use.`);
  const annotations = { ...(old.metadata.annotations ?? {}) };
  delete annotations[signalAnnotation];
  const copy: Container = {
    apiVersion: 'berth.dev/v1alpha1',
    kind: 'Container',
    metadata: {
      name: newName,
      ...(old.metadata.labels !== undefined ? { labels: old.metadata.labels } : {}),
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
    },
    spec: old.spec,
  };
  // The old one first: its published ports and its place on the node are the new one's.
  await client.delete('containers', oldName);
  await waitFor<Container, true>(
    client,
    'containers',
    oldName,
    (x) => (x === undefined || x.metadata.uid !== old.metadata.uid ? true : undefined),
    120_000,
  );
  await createContainer(client, copy);
  err.write(`berth: ${oldName} is now ${newName} (a new Container with the same spec: its id is new)\n`);
}
