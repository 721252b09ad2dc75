// `berth run`: docker run on the declarative API — the Volumes it names and one Container are created, then the
// CLI follows the Container's status: detached, it prints the name once the container runs; attached, it streams
// the output (attach for -i/-t, the log otherwise) and exits with the container's exit code. Nothing here talks to
// a node: the node agent does the pulling and running, the API carries the outcome.

import type { Container, Network, Volume } from '@berth/api';
import { connectToApi, type ApiConnection } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { exitOutcome, startOutcome, type StartOutcome } from '../docker/container-state.js';
import { runPlan, type RunFlags } from '../docker/run-spec.js';
import { ApiStatusError, CliError } from '../errors.js';
import { usableTty, type SessionStdio } from '../streams/usable-tty.js';
import { loginSecret } from './login.js';
import { pullProgressPrinter } from '../output/pull-progress.js';

export interface RunOptions extends RunFlags {
  readonly namespace?: string;
}

export interface RunIo extends SessionStdio {
  /** Where progress notes go (pulling); stderr by default. */
  readonly notes?: NodeJS.WritableStream;
}

/** The named Volumes `-v` uses, made when missing (docker creates a named volume on first use). */
async function ensureVolumes(client: ApiClient, names: readonly string[]): Promise<void> {
  for (const name of names) {
    if ((await client.find<Volume>('volumes', name)) !== undefined) continue;
    try {
      await client.create<Volume>('volumes', {
        apiVersion: 'berth.dev/v1alpha1',
        kind: 'Volume',
        metadata: { name },
        spec: {},
      });
    } catch (e) {
      if (!(ApiStatusError.isInstance(e) && e.reason === 'AlreadyExists')) throw e;
    }
  }
}

/** Creates the Container, worded as docker words a name clash. */
export async function createContainer(client: ApiClient, container: Container): Promise<Container> {
  try {
    return await client.create<Container>('containers', container);
  } catch (e) {
    if (ApiStatusError.isInstance(e) && e.reason === 'AlreadyExists')
      throw new CliError(
        'BERTH_CLI_API',
        `Conflict. The container name "${container.metadata.name ?? ''}" is already in use. You have to remove (or rename) that container to be able to reuse that name.`,
        { cause: e, exitCode: 125 },
      );
    throw e;
  }
}

/** Waits until the container runs or has run; tells of a pull once. */
export function started(client: ApiClient, name: string, notes: NodeJS.WritableStream): Promise<StartOutcome> {
  let told = false;
  const layers = pullProgressPrinter(notes);
  return waitFor<Container, StartOutcome>(client, 'containers', name, (c) => {
    if (c?.status?.phase === 'Pulling') {
      if (!told) notes.write(`Pulling image ${c.spec.image} …\n`);
      told = true;
      layers(c.status.message);
    }
    return startOutcome(c, name);
  });
}

/** Waits for the container to stop; its exit code. */
export function exited(client: ApiClient, name: string): Promise<number> {
  return waitFor<Container, number>(client, 'containers', name, (c) => exitOutcome(c, name), 24 * 3600_000);
}

/**
 * Streams the container's output until it stops and resolves with its exit code: attach when stdin or a terminal
 * is wanted, else the log from its first line (which no race with a short-lived container can lose).
 */
export async function attachTo(
  client: ApiClient,
  api: ApiConnection,
  name: string,
  outcome: StartOutcome,
  options: { readonly stdin: boolean; readonly tty: boolean },
  io: RunIo,
): Promise<number> {
  // Loaded here, not at the top: `run -d` never streams, and the WebSocket code is a large share of a start.
  const replayLog = async () => {
    const { logs } = await import('./logs.js');
    await logs(name, { ...(api.namespace !== undefined ? { namespace: api.namespace } : {}), follow: true }, io.stdout);
  };
  if (outcome.state === 'running' && (options.stdin || options.tty)) {
    try {
      // Its exit code comes from the API below, the one record of how it ended.
      const { remoteCommand } = await import('../streams/remote-command.js');
      await remoteCommand(api, { subresource: 'attach', name, stdin: options.stdin, tty: options.tty }, io);
    } catch (e) {
      // It ended between starting and our attach: its output is in the log.
      if (exitOutcome(await client.find<Container>('containers', name), name) === undefined) throw e;
      await replayLog();
    }
  } else {
    await replayLog();
  }
  return exited(client, name);
}

/** Runs `berth run`; resolves with the exit status the CLI should end with. */
export async function run(
  image: string,
  command: readonly string[],
  options: RunOptions,
  io: RunIo = process,
): Promise<number> {
  const notes = io.notes ?? io.stderr;
  const plan = await runPlan(options, image, command);
  const stdin = options.interactive === true;
  const tty = options.detach === true ? false : usableTty(options.tty === true, stdin, io);
  const api = await connectToApi(options.namespace);
  const client = new ApiClient(api);
  const network = plan.container.spec.networks?.[0]?.name;
  if (network !== undefined && (await client.find<Network>('networks', network)) === undefined)
    throw new CliError('BERTH_CLI_API', `network ${network} not found`, { exitCode: 125 });
  await ensureVolumes(client, plan.volumes);
  // Credentials `berth login` stored, for the node's pull.
  const pullSecret = await loginSecret(client);
  const container =
    pullSecret === undefined
      ? plan.container
      : { ...plan.container, spec: { ...plan.container.spec, imagePullSecrets: [{ name: pullSecret }] } };
  const made = await createContainer(client, container);
  const name = made.metadata.name ?? '';
  let outcome: StartOutcome;
  try {
    outcome = await started(client, name, notes);
  } catch (e) {
    // docker creates nothing when the image cannot be had; a --rm container goes whatever the failure.
    if (options.rm === true || (CliError.isInstance(e) && /^Unable to pull/.test(e.message)))
      await removeQuietly(client, name);
    throw e;
  }
  if (options.detach === true) {
    io.stdout.write(`${name}\n`);
    return 0;
  }
  const code = await attachTo(client, api, name, outcome, { stdin, tty }, io);
  if (options.rm === true) {
    await client.delete('containers', name);
    await gone(client, name);
  }
  return code;
}

/** Waits until the agent has taken the deleted Container down (its finalizer). */
function gone(client: ApiClient, name: string): Promise<true> {
  return waitFor(client, 'containers', name, (c) => (c === undefined ? true : undefined), 60_000);
}

/** Removes what a failed run made, keeping the run's own error for the user. */
async function removeQuietly(client: ApiClient, name: string): Promise<void> {
  try {
    await client.delete('containers', name);
    await gone(client, name);
  } catch {
    // the run's error says more than this one
  }
}
