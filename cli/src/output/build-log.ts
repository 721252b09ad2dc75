// Follows a build's log as `berth build` prints it: the Image's `log` subresource (the building node's agent writes
// each step, its RUN output as it comes, and "Using cache" or how long it ran), copied to the terminal as it arrives.
// When the log cannot be had (an older node), the caller prints the steps from the Image's status instead.
import type { ApiClient } from '../api/client.js';
import { berthPath } from '../api/client.js';
import { openStream } from '../api/raw-stream.js';

export type FollowState = 'idle' | 'opening' | 'streaming' | 'failed' | 'done';

export class BuildLogFollow {
  readonly #client: ApiClient;
  readonly #path: string;
  readonly #out: NodeJS.WritableStream;
  readonly #abort = new AbortController();
  #state: FollowState = 'idle';
  #node: string | undefined;
  #attempt: AbortController | undefined;
  #ended: Promise<void> = Promise.resolve();
  /** Bytes shown: a follow that showed nothing yet may still give way to the next node's. */
  #shown = 0;

  constructor(client: ApiClient, name: string, generation: number, out: NodeJS.WritableStream) {
    this.#client = client;
    this.#path = `${berthPath('images', client.namespace, name)}/log?follow=true&generation=${generation}`;
    this.#out = out;
  }

  get state(): FollowState {
    return this.#state;
  }

  /**
   * Follows the log on `node`, the one the Image is bound to now. A build bound again (its first node went away
   * before it started) is followed on its new node; nothing is shown twice, since only one follow ever streams.
   */
  follow(node: string): void {
    if (this.#state === 'done' || node === this.#node || (this.#state === 'streaming' && this.#shown > 0)) return;
    this.#node = node;
    this.#attempt?.abort();
    const attempt = new AbortController();
    this.#attempt = attempt;
    this.#state = 'opening';
    this.#ended = (async () => {
      try {
        const res = await openStream(this.#client.connection, {
          method: 'GET',
          path: this.#path,
          accept: 'text/plain',
          signal: AbortSignal.any([attempt.signal, this.#abort.signal]),
        });
        if (attempt !== this.#attempt) {
          res.destroy();
          return;
        }
        this.#state = 'streaming';
        for await (const chunk of res as AsyncIterable<Buffer>) {
          if (attempt !== this.#attempt) break;
          this.#shown += chunk.length;
          this.#out.write(chunk);
        }
        if (attempt === this.#attempt) this.#state = 'done';
      } catch {
        // Nothing shown yet: the status's steps stand in (or the next node's log). Cut off midway: what was shown
        // stays.
        if (attempt === this.#attempt && this.#state === 'opening') this.#state = 'failed';
      }
    })();
  }

  /** Once the build is over: waits for the log's end (the node closes it before the final status) up to `ms`. */
  async finish(ms: number): Promise<FollowState> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
    this.#abort.abort();
    await this.#ended;
    // Answered but never written to (the build ran elsewhere): as good as no log.
    return this.#shown === 0 && this.#state !== 'idle' ? 'failed' : this.#state;
  }
}
