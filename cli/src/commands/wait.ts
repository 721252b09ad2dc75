// `berth wait`: blocks until each Container has stopped and prints its exit code, as docker wait does (a `--rm`
// one's too, though it is removed as it exits).

import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { resolveContainer } from '../docker/resolve.js';
import type { Container } from '@berth/api';
import { waitFor } from '../api/wait.js';
import { exitOutcome } from '../docker/container-state.js';
import { CliError } from '../errors.js';

/**
 * The exit code of `c`, also while it is being deleted: the API server bumps a deleted object's generation (as
 * Kubernetes does), so the agent's exit status, written for the generation before, still counts.
 */
function exitCodeOf(c: Container, name: string): number | undefined {
  const generation = c.metadata.generation;
  const deleting = c.metadata.deletionTimestamp !== undefined && generation !== undefined;
  return exitOutcome(deleting ? { ...c, metadata: { ...c.metadata, generation: generation - 1 } } : c, name);
}

export async function wait(
  refs: readonly string[],
  options: { readonly namespace?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  for (const ref of refs) {
    const c = await resolveContainer(client, ref);
    const name = c.metadata.name ?? '';
    // Watched from the read above, so a `--rm` container's exit is seen even when it is removed right after.
    const code = await waitFor<Container, number>(
      client,
      'containers',
      name,
      (x, last) => {
        if (x !== undefined) return exitCodeOf(x, name);
        const final = last === undefined ? undefined : exitCodeOf(last, name);
        if (final === undefined) throw new CliError('BERTH_CLI_API', `container ${name} was removed before it exited`);
        return final;
      },
      24 * 3600_000,
      c,
    );
    out.write(`${code}\n`);
  }
}
