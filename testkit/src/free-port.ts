// A loopback TCP port for a fixture that must be told its port up front (it cannot listen on 0 and report).
import { createServer } from 'node:net';

/** A TCP port nobody listens on right now (the kernel picks it), so parallel test files never collide. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
