// Answers written straight to a socket, for requests that never reach the router: a request Node's HTTP parser
// refused, and CONNECT (which Node hands over as a bare socket). Both still get a Kubernetes `Status`.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Status, StatusReason } from '../errors/api-error.js';

/** Node's internal link from a socket to the response in progress on it (absent between requests). */
type HttpSocket = Duplex & { _httpMessage?: { headersSent?: boolean } };

function writeStatus(socket: Duplex, code: number, phrase: string, reason: StatusReason, message: string): void {
  const body = JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  } satisfies Status);
  socket.end(
    `HTTP/1.1 ${code} ${phrase}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Node's 'clientError': a request line, header or chunk it could not parse. The connection ends after it. */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  const inProgress = (socket as HttpSocket)._httpMessage?.headersSent === true;
  if (error.code === 'ECONNRESET' || !socket.writable || inProgress) {
    socket.destroy();
    return;
  }
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    writeStatus(socket, 431, 'Request Header Fields Too Large', 'BadRequest', 'request header fields too large');
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    writeStatus(socket, 408, 'Request Timeout', 'Timeout', 'the request was not received in time');
  } else {
    writeStatus(socket, 400, 'Bad Request', 'BadRequest', `malformed HTTP request: ${error.code ?? error.message}`);
  }
}

/** CONNECT serves nothing here (exec and attach use WebSocket upgrades): 405, as Kubernetes answers it. */
export function answerConnect(req: IncomingMessage, socket: Duplex): void {
  socket.on('error', () => socket.destroy());
  writeStatus(
    socket,
    405,
    'Method Not Allowed',
    'MethodNotAllowed',
    `the server does not allow this method on the requested resource (CONNECT ${req.url ?? ''})`,
  );
}
