// The `log` endpoint: a container's k8s-file log as a text/plain stream, following it until the client leaves or the container ends.
import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { access } from 'node:fs/promises';
import { createLogStream } from '../logs/k8s-file.js';
import type { ContainerState } from '../runtime/runtime.js';
import type { LogRequest } from './request-options.js';
import { StreamingError } from './status.js';

export interface LogSource {
  /** Log files, oldest first (the rotated predecessor, then the live log). */
  readonly files: readonly string[];
  /** Asked at end of file while following: true ends the stream (container exited or deleted). */
  readonly ended: () => Promise<boolean>;
}

/**
 * The log of the run before the current one (`previous=true`), kept by the runtime when it restarted the
 * container; kubelet's 400 when there is none (the container never restarted).
 */
export async function previousLog(state: ContainerState, name: string): Promise<readonly string[]> {
  const file = state.previousLogPath;
  if (
    file !== undefined &&
    (await access(file).then(
      () => true,
      () => false,
    ))
  )
    return [file];
  throw new StreamingError('BadRequest', `previous terminated container "${name}" in pod "${name}" not found`);
}

export async function serveLog(
  source: LogSource,
  request: LogRequest,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  const reader = createLogStream(source.files, {
    follow: request.follow,
    ...(request.tailLines === undefined ? {} : { tailLines: request.tailLines }),
    ...(request.sinceSeconds === undefined ? {} : { sinceSeconds: request.sinceSeconds }),
    timestamps: request.timestamps,
    signal,
    until: source.ended,
  });
  res.writeHead(200, {
    'Content-Type': 'text/plain',
    'Cache-Control': 'no-cache, private',
    'X-Content-Type-Options': 'nosniff',
  });
  // Clients following a quiet log should see the answer start before the first line.
  res.flushHeaders();
  let left = request.limitBytes ?? Infinity;
  try {
    for await (const chunk of reader as AsyncIterable<Buffer | string>) {
      let bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (bytes.length > left) bytes = bytes.subarray(0, left);
      left -= bytes.length;
      if (!res.write(bytes)) await once(res, 'drain', { signal });
      // Leaving the loop destroys the reader, which stops a follow's polling and closes its files.
      if (left <= 0) break;
    }
  } catch (err) {
    // The client went away mid-stream: nothing to answer.
    if (signal.aborted) return;
    res.destroy(err as Error);
    return;
  }
  res.end();
}
