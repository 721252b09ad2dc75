// `berth kill [-s SIGNAL]`: asks the node agent, through the Container's `berth.dev/signal` annotation, to send the
// signal once, and waits for its answer (the annotation taken off). KILL, the default, also holds the Container
// stopped (spec.stopped), as docker's kill marks a container stopped by hand: its restart policy does not bring it
// back, and `berth start` does.

import { constants } from 'node:os';
import type { Container } from '@berth/api';
import { signalAnnotation } from '@berth/api/helpers';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { exitOutcome, isRunning } from '../docker/container-state.js';
import { forEachName } from '../docker/each-name.js';
import { resolveContainer } from '../docker/resolve.js';
import { CliError, UsageError } from '../errors.js';

export interface KillOptions {
  readonly namespace?: string;
  readonly signal?: string;
}

/** `HUP`, `SIGHUP` or `1` as the signal's name; throws docker's words for an unknown one. */
export function signalName(text: string): NodeJS.Signals {
  const upper = text.trim().toUpperCase();
  const signals = constants.signals as Record<string, number>;
  const name = /^\d+$/.test(upper)
    ? Object.keys(signals).find((k) => signals[k] === Number(upper))
    : upper.startsWith('SIG')
      ? upper
      : `SIG${upper}`;
  if (name === undefined || !(name in signals)) throw new UsageError(`invalid signal: ${text}`);
  return name as NodeJS.Signals;
}

export async function kill(
  refs: readonly string[],
  options: KillOptions,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const signal = signalName(options.signal ?? 'KILL');
  const client = new ApiClient(await connectToApi(options.namespace));
  await forEachName(
    refs,
    async (ref) => {
      const c = await resolveContainer(client, ref);
      const name = c.metadata.name ?? '';
      if (!isRunning(c))
        throw new CliError('BERTH_CLI_API', `cannot kill container: ${ref}: container ${name} is not running`);
      const stops = signal === 'SIGKILL';
      await client.patch<Container>('containers', name, {
        metadata: { annotations: { [signalAnnotation]: signal } },
        ...(stops ? { spec: { stopped: true } } : {}),
      });
      await waitFor<Container, true>(
        client,
        'containers',
        name,
        (x) =>
          x?.metadata.annotations?.[signalAnnotation] === undefined && (!stops || exitOutcome(x, name) !== undefined)
            ? true
            : undefined,
        60_000,
      );
      out.write(`${ref}\n`);
    },
    err,
  );
}
