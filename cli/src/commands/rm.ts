// `berth rm`: deletes Containers (a running one only with -f, as docker refuses otherwise), waiting until the node
// agent has taken each down; -v also deletes the named Volumes they mounted when nothing else uses them.

import type { Container } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { isRunning } from '../docker/container-state.js';
import { resolveContainer } from '../docker/resolve.js';
import { CliError } from '../errors.js';
import { forEachName } from '../docker/each-name.js';

export interface RmOptions {
  readonly namespace?: string;
  readonly force?: boolean;
  readonly volumes?: boolean;
}

/** Removes each; prints the names removed; failures are reported per name and the last one rethrown, as docker. */
export async function rm(
  refs: readonly string[],
  options: RmOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  await forEachName(
    refs,
    async (ref) => {
      const c = await resolveContainer(client, ref);
      const name = c.metadata.name ?? '';
      if (isRunning(c) && options.force !== true)
        throw new CliError(
          'BERTH_CLI_API',
          `cannot remove container "${name}": container is running: stop the container before removing or force remove`,
        );
      // -f kills at once, as docker rm -f does (the agent honours the delete's grace period).
      await client.delete('containers', name, options.force === true ? 0 : undefined);
      await waitFor<Container, true>(
        client,
        'containers',
        name,
        (x) => (x === undefined || x.metadata.uid !== c.metadata.uid ? true : undefined),
        120_000,
      );
      if (options.volumes === true) await removeVolumesOf(client, c);
      out.write(`${ref}\n`);
    },
    err,
  );
}

/** The named Volumes `c` mounted, unless another Container still mounts them. */
async function removeVolumesOf(client: ApiClient, c: Container): Promise<void> {
  const names = (c.spec.volumes ?? []).flatMap((v) => (v.volumeRef === undefined ? [] : [v.volumeRef.name]));
  if (names.length === 0) return;
  const others = await client.list<Container>('containers');
  for (const name of names) {
    if (others.some((o) => (o.spec.volumes ?? []).some((v) => v.volumeRef?.name === name))) continue;
    await client.delete('volumes', name).catch(() => undefined);
  }
}
