// `berth service logs NAME`: every replica's log, each line behind docker's `web.1.0123456789ab@node |` prefix.
// Without -f the replicas' logs are read whole with timestamps and merged in time order; with -f each is followed as
// it comes, and replicas the Service starts meanwhile (a scale, a rolling update) are followed as they appear.

import type { Service } from '@berth/api';
import { connectToApi } from '../api-connection.js';
import { ApiClient } from '../api/client.js';
import { collected, mergeByTime, prefixedLines } from '../output/prefixed-lines.js';
import { serviceTasks, taskLogName, type Task } from '../service/tasks.js';
import { logs } from './logs.js';

export interface ServiceLogsOptions {
  readonly namespace?: string;
  readonly follow?: boolean;
  readonly tail?: string;
  readonly since?: string;
  readonly timestamps?: boolean;
  /** Leave the replica ids out of the prefix. */
  readonly taskIds?: boolean;
  /** No prefix at all. */
  readonly raw?: boolean;
  readonly signal?: AbortSignal;
  /** How often a follow looks for new replicas. @default 2000 */
  readonly rescanMs?: number;
}

export async function serviceLogs(
  name: string,
  options: ServiceLogsOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const client = new ApiClient(await connectToApi(options.namespace));
  const service = await client.get<Service>('services', name);
  const tasks = await serviceTasks(client, service);
  const label = (t: Task) => taskLogName(t, options.taskIds !== false);
  const width = Math.max(0, ...tasks.map((t) => label(t).length));
  const prefix = (t: Task) => (options.raw === true ? '' : `${label(t).padEnd(width)}    | `);
  const base = {
    namespace: client.namespace,
    ...(options.tail !== undefined ? { tail: options.tail } : {}),
    ...(options.since !== undefined ? { since: options.since } : {}),
  };
  if (options.follow !== true) {
    const read = await Promise.all(
      tasks.map(async (t) => {
        const sink = collected();
        await logs(t.container.metadata.name ?? '', { ...base, timestamps: true }, sink.stream);
        return { prefix: prefix(t), text: sink.text() };
      }),
    );
    out.write(mergeByTime(read, options.timestamps === true));
    return;
  }
  const followed = new Map<string, Promise<void>>();
  const follow = (t: Task) => {
    const container = t.container.metadata.name ?? '';
    // One not started yet has no log to follow: a later scan takes it.
    if (followed.has(container) || t.container.status?.startedAt === undefined) return;
    const sink = prefixedLines(out, prefix(t));
    const done = logs(
      container,
      {
        ...base,
        follow: true,
        ...(options.timestamps === true ? { timestamps: true } : {}),
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      },
      sink,
    )
      // A replica removed while followed just ends its stream.
      .catch(() => undefined)
      .finally(() => sink.end());
    followed.set(container, done);
  };
  for (const t of tasks) follow(t);
  // Followed until interrupted, as docker service logs -f is.
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      serviceTasks(client, service).then(
        (now) => now.forEach(follow),
        () => undefined,
      );
    }, options.rescanMs ?? 2000);
    options.signal?.addEventListener(
      'abort',
      () => {
        clearInterval(timer);
        resolve();
      },
      { once: true },
    );
  });
  await Promise.all(followed.values());
}
