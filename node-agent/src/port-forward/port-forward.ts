// Kubernetes' port-forward protocol (portforward.k8s.io) over a SPDY session, as kubelet serves it: for each
// connection the client opens an `error` stream and a `data` stream with the same `requestid` and the `port`; the
// agent dials that port on the container's address and copies bytes both ways. When the container's side ends,
// the data stream ends and the error stream closes empty (a failure to dial is written on it instead).

import { connect, type Socket } from 'node:net';
import type { SpdySession, SpdyStream } from './spdy-session.js';

/** The subprotocol kubectl asks for (in X-Stream-Protocol-Version, or after `SPDY/3.1+` over a WebSocket). */
export const portForwardProtocol = 'portforward.k8s.io';
/** How long the second stream of a pair may take to follow the first (kubelet: streamCreationTimeout, 30 s). */
const pairTimeoutMs = 30_000;

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  readonly timer: NodeJS.Timeout;
}

export interface PortForwardTarget {
  /** Where the container listens: its address on a berth bridge. */
  readonly address: string;
  /** Named in errors, as kubelet names the pod. */
  readonly description: string;
}

/** Serves one port-forward session until the client closes it. */
export function servePortForward(session: SpdySession, target: PortForwardTarget): void {
  const pairs = new Map<string, Pair>();
  session.on('close', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });
  session.on('stream', (stream) => {
    stream.on('error', () => undefined);
    stream.reply();
    const requestId = stream.headers.get('requestid') ?? '';
    const type = stream.headers.get('streamtype');
    if (type !== 'error' && type !== 'data') {
      stream.destroy();
      return;
    }
    let pair = pairs.get(requestId);
    if (pair === undefined) {
      const timer = setTimeout(() => {
        const p = pairs.get(requestId);
        pairs.delete(requestId);
        p?.error?.end(`timed out waiting for the data stream of request ${requestId}`);
        p?.data?.destroy();
      }, pairTimeoutMs);
      pairs.set(requestId, (pair = { timer }));
    }
    pair[type] = stream;
    if (pair.error !== undefined && pair.data !== undefined) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      forward(pair.error, pair.data, stream.headers.get('port') ?? '', target);
    }
  });
}

function forward(error: SpdyStream, data: SpdyStream, portHeader: string, target: PortForwardTarget): void {
  const port = Number(portHeader);
  // The client closes its side of the error stream at once; what it reads there is ours to write.
  error.resume();
  if (!/^\d+$/.test(portHeader) || port < 1 || port > 65_535) {
    error.end(`invalid port ${JSON.stringify(portHeader)}`);
    data.end();
    return;
  }
  const socket: Socket = connect({ host: target.address, port });
  let done = false;
  const finish = (message?: string) => {
    if (done) return;
    done = true;
    error.end(message);
    data.end();
  };
  socket.once('connect', () => {
    data.pipe(socket);
    socket.pipe(data, { end: false });
  });
  socket.once('end', () => finish());
  socket.once('error', (e) =>
    finish(`error forwarding port ${port} to ${target.description} (${target.address}): ${e.message}`),
  );
  socket.once('close', () => finish());
  data.once('close', () => socket.destroy());
}
