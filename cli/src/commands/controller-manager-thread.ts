// The controller manager on its own thread inside `berth up`: its own event loop, so loading client-node (seconds
// on a busy machine) and reconciling never stall the API server's. It talks to the server over the API with the
// kubeconfig it is given, as a separate process would; the message 'close' stops it (Lease released) and it
// answers 'closed'.
import { hostname } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '@berth/apiserver';
import { startControllers } from '@berth/controllers';

const port = parentPort;
if (port === null) throw new Error('controller-manager-thread runs as a worker thread of berth up');
const { kubeconfig, logLevel } = workerData as { kubeconfig: string; logLevel: string };

// berth up's log format and level, in this thread's own logger (a logger cannot cross threads).
const log = createLogger({ level: logLevel }).child({ component: 'controller-manager' });
const started = startControllers({
  kubeconfig,
  // One berth up is the only candidate on its own API server: a stable identity lets it take its Lease back at once
  // after a crash, instead of waiting out the Lease its previous run (same identity) left behind.
  leaderElection: { identity: `${hostname()}_berth-up` },
  logger: {
    info: (message, fields) => log.info(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
  },
});
started.then(
  () => port.postMessage('started'),
  (e: unknown) => log.error({ error: (e as Error).message }, 'the controller manager could not start'),
);
port.on('message', (message: unknown) => {
  if (message !== 'close') return;
  void started
    .then((running) => running.close())
    .catch(() => undefined)
    .then(() => {
      port.postMessage('closed');
      port.close();
    });
});
