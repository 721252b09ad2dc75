// `berth stop` and `berth start`: a Container's spec.stopped, the one desired-state switch docker's stop and start
// stand for. The node agent stops the process and keeps the container while it is true; start sets it back, which
// (being a new generation) makes the agent run the container again, even one that exited on its own.

import type { Container } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { exitOutcome, isRunning } from '../docker/container-state.js';
import { forEachName } from '../docker/each-name.js';
import { resolveContainer } from '../docker/resolve.js';
import { UsageError } from '../errors.js';
import { usableTty } from '../streams/usable-tty.js';
import { attachTo, started, type RunIo } from './run.js';

export interface StopOptions {
  readonly namespace?: string;
  /** Seconds before SIGKILL (docker's -t); the Container's terminationGracePeriodSeconds otherwise. */
  readonly time?: string;
}

/** Stops each and waits until it is stopped; prints each as given. */
export async function stop(
  refs: readonly string[],
  options: StopOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  if (options.time !== undefined && !/^\d+$/.test(options.time))
    throw new UsageError(`invalid -t "${options.time}": want seconds`);
  const client = new ApiClient(await connectToApi(options.namespace));
  await forEachName(refs, async (ref) => {
    const c = await resolveContainer(client, ref);
    const name = c.metadata.name ?? '';
    if (c.spec.stopped !== true || options.time !== undefined)
      await client.patch<Container>('containers', name, {
        spec: {
          stopped: true,
          ...(options.time !== undefined ? { terminationGracePeriodSeconds: Number(options.time) } : {}),
        },
      });
    // Stopped once the agent has recorded the exit for this generation.
    await waitFor<Container, true>(
      client,
      'containers',
      name,
      (x) => (exitOutcome(x, name) !== undefined ? true : undefined),
      5 * 60_000,
    );
    out.write(`${ref}\n`);
  });
}

export interface StartOptions {
  readonly namespace?: string;
  readonly attach?: boolean;
  readonly interactive?: boolean;
}

/** Starts each; with -a, attaches to the one and resolves with its exit code. */
export async function start(refs: readonly string[], options: StartOptions, io: RunIo = process): Promise<number> {
  const attach = options.attach === true || options.interactive === true;
  if (attach && refs.length > 1) throw new UsageError('you cannot start and attach multiple containers at once');
  const api = await connectToApi(options.namespace);
  const client = new ApiClient(api);
  for (const ref of refs) {
    const c = await resolveContainer(client, ref);
    const name = c.metadata.name ?? '';
    if (!isRunning(c)) {
      // A container that exited on its own has nothing to switch back: stop it first, so clearing `stopped` is a
      // new generation too.
      if (c.spec.stopped !== true) await client.patch<Container>('containers', name, { spec: { stopped: true } });
      await client.patch<Container>('containers', name, { spec: { stopped: null } });
    }
    const outcome = await started(client, name, io.notes ?? io.stderr);
    if (!attach) {
      io.stdout.write(`${ref}\n`);
      continue;
    }
    const stdin = options.interactive === true && c.spec.stdin === true;
    const tty = usableTty(c.spec.tty === true && stdin, stdin, io);
    return attachTo(client, api, name, outcome, { stdin, tty }, io);
  }
  return 0;
}

/** docker restart: stop (with -t), then start; prints each as given. */
export async function restart(refs: readonly string[], options: StopOptions, io: RunIo = process): Promise<void> {
  const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
  await stop(refs, options, quiet);
  await start(refs, options.namespace !== undefined ? { namespace: options.namespace } : {}, io);
}
