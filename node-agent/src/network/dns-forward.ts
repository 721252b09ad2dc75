// Relays one DNS query to a network's upstream name servers, in order, and returns the first reply whose id
// matches; undefined when none answers in time (the caller says SERVFAIL).
import { createSocket } from 'node:dgram';

const TIMEOUT_MS = 2000;

/** "ip" or "ip:port" (53 when left out). */
function parseUpstream(upstream: string): { address: string; port: number } {
  const [address = '', port] = upstream.split(':');
  return { address, port: port === undefined ? 53 : Number(port) };
}

function ask(query: Buffer, upstream: string): Promise<Buffer | undefined> {
  const { address, port } = parseUpstream(upstream);
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const done = (reply: Buffer | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    const timer = setTimeout(() => done(undefined), TIMEOUT_MS);
    socket.on('error', () => done(undefined));
    // The reply to this query, from that server: the first two bytes are the query's id.
    socket.on('message', (reply, rinfo) => {
      if (
        rinfo.address === address &&
        rinfo.port === port &&
        reply.length >= 2 &&
        reply.readUInt16BE(0) === query.readUInt16BE(0)
      )
        done(reply);
    });
    socket.send(query, port, address, (err) => err && done(undefined));
  });
}

export async function forwardQuery(query: Buffer, upstreams: readonly string[]): Promise<Buffer | undefined> {
  if (query.length < 2) return undefined;
  for (const u of upstreams) {
    const reply = await ask(query, u);
    if (reply !== undefined) return reply;
  }
  return undefined;
}
