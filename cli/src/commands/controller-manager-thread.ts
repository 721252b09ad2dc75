// The controller manager on its own thread inside `berth up`: its own event loop, so loading client-node (seconds
// on a busy machine) and reconciling never stall the API server's. It talks to the server over the API with the
// kubeconfig it is given, as a separate process would; the message 'close' stops it (Lease released) and it
// answers 'closed'.
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '@berth/apiserver/logger';
import { type RunningControllers, startControllers } from '@berth/controllers';
import { UpError } from '../errors.js';
import type { ControllerManagerThreadData } from './up.js';

const port = parentPort;
if (port === null) throw new UpError('controller-manager-thread runs as a worker thread of berth up');
const { kubeconfig, logLevel, gitopsDir, metricsServer } = workerData as ControllerManagerThreadData;

// berth up's log format and level, in this thread's own logger (a logger cannot cross threads).
const log = createLogger({ level: logLevel }).child({ component: 'controller-manager' });
const logger = {
  info: (message: string, fields?: Record<string, unknown>) => log.info(fields ?? {}, message),
  error: (message: string, fields?: Record<string, unknown>) => log.error(fields ?? {}, message),
};
let stopping = false;
// Cuts a restart's wait short when berth up stops.
const stopped = new AbortController();
const pause = (ms: number) => delay(ms, undefined, { signal: stopped.signal }).catch(() => undefined);

/**
 * Starts the controllers; should the manager close on its own (its Lease lost when renewals stalled, a controller
 * that failed to start), starts them again after `retryMs`, as a supervisor restarts kube-controller-manager.
 */
async function run(retryMs: number): Promise<RunningControllers | undefined> {
  let running: RunningControllers;
  try {
    running = await startControllers({
      kubeconfig,
      gitops: { dataDir: gitopsDir },
      // One berth up is the only candidate on its own API server: a stable identity lets it take its Lease back at
      // once after a crash, instead of waiting out the Lease its previous run (same identity) left behind.
      leaderElection: { identity: `${hostname()}_berth-up` },
      logger,
      ...(metricsServer === undefined ? {} : { metricsServer }),
    });
  } catch (e) {
    log.error({ error: (e as Error).message }, 'the controller manager could not start');
    if (stopping) return undefined;
    await pause(retryMs);
    return stopping ? undefined : run(Math.min(retryMs * 2, 30_000));
  }
  void running.manager.closed.then(async () => {
    if (stopping) return;
    log.error({}, 'the controller manager stopped on its own; starting it again');
    await pause(1_000);
    if (!stopping) current = run(1_000);
  });
  return running;
}

let current = run(1_000);
void current.then((running) => {
  if (running === undefined) return;
  port.postMessage({ metricsUrl: running.manager.metricsUrl });
  port.postMessage('started');
});
port.on('message', (message: unknown) => {
  if (message !== 'close') return;
  stopping = true;
  stopped.abort();
  void current
    .then((running) => running?.close())
    .catch(() => undefined)
    .then(() => {
      port.postMessage('closed');
      port.close();
    });
});
