// `berth attach`: the terminal wired to a running Container's own stdio (its stdin too, when it keeps one open and
// --no-stdin is not given) through the attach subresource; exits with the container's exit code once it stops.

import type { Container } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { exitOutcome, isRunning } from '../docker/container-state.js';
import { resolveContainer } from '../docker/resolve.js';
import { CliError } from '../errors.js';
import { remoteCommand } from '../streams/remote-command.js';
import { usableTty } from '../streams/usable-tty.js';
import { exited, type RunIo } from './run.js';

export interface AttachOptions {
  readonly namespace?: string;
  /** false with --no-stdin. */
  readonly stdin?: boolean;
}

export async function attach(ref: string, options: AttachOptions, io: RunIo = process): Promise<number> {
  const api = await connectToApi(options.namespace);
  const client = new ApiClient(api);
  const c: Container = await resolveContainer(client, ref);
  if (!isRunning(c)) throw new CliError('BERTH_CLI_API', 'You cannot attach to a stopped container, start it first');
  const stdin = options.stdin !== false && c.spec.stdin === true;
  const tty = usableTty(c.spec.tty === true && stdin, stdin, io);
  const name = c.metadata.name ?? '';
  try {
    // Its output from now on, as docker attach shows; the exit code comes from the API, the one record of it.
    await remoteCommand(api, { subresource: 'attach', name, stdin, tty }, io);
  } catch (e) {
    // It ended between our read and the attach: only its exit code is left to report.
    if (exitOutcome(await client.find<Container>('containers', name), name) === undefined) throw e;
  }
  return exited(client, name);
}
