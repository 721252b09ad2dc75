// Whether a host port is free, found by binding it for a moment: DNAT rules would silently shadow a host process
// listening there, so a taken port must be caught before the rules go in.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { PortMapping } from './network.js';

/** Resolves with the error code (`EADDRINUSE`, `EADDRNOTAVAIL`, …) when `hostIP:hostPort` cannot be bound, else undefined. */
export function probePort(port: PortMapping): Promise<string | undefined> {
  return new Promise((resolve) => {
    const failed = (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message);
    if (port.protocol === 'udp') {
      const socket = createSocket('udp4');
      socket.once('error', (err) => {
        socket.close();
        failed(err);
      });
      socket.bind({ address: port.hostIP, port: port.hostPort, exclusive: true }, () =>
        socket.close(() => resolve(undefined)),
      );
      return;
    }
    const server = createServer();
    server.once('error', failed);
    server.listen({ host: port.hostIP, port: port.hostPort, exclusive: true }, () =>
      server.close(() => resolve(undefined)),
    );
  });
}

/** Two mappings claim the same host socket (0.0.0.0 overlaps every address). */
export function portsClash(a: PortMapping, b: PortMapping): boolean {
  return (
    a.protocol === b.protocol &&
    a.hostPort === b.hostPort &&
    (a.hostIP === b.hostIP || a.hostIP === '0.0.0.0' || b.hostIP === '0.0.0.0')
  );
}
