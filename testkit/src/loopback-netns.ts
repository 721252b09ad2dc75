// A network namespace with nothing but loopback, whose chosen loopback ports lead to the same ports on the host's
// loopback. A process run inside (through `nsenter`) sees none of the host's interfaces come and go: headless
// chromium abandons page loads with ERR_NETWORK_CHANGED whenever one does, and the suite's other tests add and
// remove veths and bridges all the time.

import { type ChildProcess, spawn } from 'node:child_process';
import { connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

/** The namespace's holder: it brings loopback up, listens on each port, and hands the listeners to this process. */
const holderScript = `
const { execFileSync } = require('node:child_process');
const { createServer } = require('node:net');
execFileSync('ip', ['link', 'set', 'lo', 'up']);
for (const port of JSON.parse(process.argv[1])) {
  const listener = createServer();
  listener.listen({ host: '127.0.0.1', port }, () => process.send(port, listener, () => listener.close()));
}
process.on('disconnect', () => process.exit(0));
`;

export interface LoopbackNetns {
  /** `nsenter` arguments that run a command inside the namespace. */
  readonly enter: readonly string[];
  close(): Promise<void>;
}

/** A namespace whose 127.0.0.1:PORT, for each of `ports`, is the host's 127.0.0.1:PORT. Root. */
export async function startLoopbackNetns(ports: readonly number[]): Promise<LoopbackNetns> {
  const holder = spawn('unshare', ['--net', '--', process.execPath, '-e', holderScript, JSON.stringify(ports)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const listeners: Server[] = [];
  const sockets = new Set<Socket>();
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.once('exit', (code) => reject(new Error(`the namespace's holder exited with ${code} before it listened`)));
    holder.on('message', (port: number, listener: Server) => {
      listeners.push(listener);
      // Each connection made inside is carried to the host's port; accept(2) on the handed-over listener gives a
      // socket in the namespace, connect(2) from here one in the host's.
      listener.on('connection', (inside: Socket) => {
        const outside = connect(port, '127.0.0.1');
        for (const s of [inside, outside]) {
          sockets.add(s);
          s.on('error', () => undefined).on('close', () => {
            sockets.delete(s);
            inside.destroy();
            outside.destroy();
          });
        }
        inside.pipe(outside).pipe(inside);
      });
      if (listeners.length === ports.length) resolve();
    });
  });
  return {
    enter: ['nsenter', `--net=/proc/${holder.pid}/ns/net`, '--'],
    close: () => closeNetns(holder, listeners, sockets),
  };
}

async function closeNetns(holder: ChildProcess, listeners: Server[], sockets: Set<Socket>) {
  for (const l of listeners) l.close();
  for (const s of sockets) s.destroy();
  if (holder.exitCode !== null || holder.signalCode !== null) return;
  const exited = once(holder, 'exit');
  holder.disconnect();
  await exited;
}
