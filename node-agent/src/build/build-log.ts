// The log of an Image's build on this node, as docker prints a build: each step, its RUN output as it comes, and
// "Using cache" or how long it ran. Kept in conmon's k8s-file format under <root>/build/logs/<image uid>/<generation>.log,
// so the agent's log endpoint serves and follows it as it does a Container's; one generation kept per Image.
import { appendFileSync, mkdirSync, rmSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { BuildProgress } from './build.js';

export class BuildLogs {
  readonly #dir: string;
  /** `uid/generation` of the builds writing now: a follow of one of them goes on until it ends. */
  readonly #active = new Set<string>();

  constructor(root: string) {
    this.#dir = path.join(root, 'build', 'logs');
  }

  path(uid: string, generation: number): string {
    return path.join(this.#dir, safe(uid), `${generation}.log`);
  }

  isActive(uid: string, generation: number): boolean {
    return this.#active.has(`${uid}/${generation}`);
  }

  /** Starts the log of a build, dropping the Image's earlier ones. */
  open(uid: string, generation: number): BuildLog {
    const dir = path.join(this.#dir, safe(uid));
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const key = `${uid}/${generation}`;
    this.#active.add(key);
    return new BuildLog(this.path(uid, generation), () => this.#active.delete(key));
  }

  /** Removes the logs of Images that are gone (`keep`: the uids still there). */
  async sweep(keep: ReadonlySet<string>): Promise<void> {
    const dirs = await readdir(this.#dir).catch(() => [] as string[]);
    for (const d of dirs) if (!keep.has(d)) await rm(path.join(this.#dir, d), { recursive: true, force: true });
  }
}

/** A uid names a directory: nothing but its own characters. */
const safe = (uid: string) => uid.replace(/[^A-Za-z0-9-]/g, '_') || '_';

export class BuildLog {
  readonly #file: string;
  readonly #done: () => void;
  #partial = false;

  constructor(file: string, done: () => void) {
    this.#file = file;
    this.#done = done;
    appendFileSync(file, '');
  }

  /** Text as it came; whole lines are `F` records, an unfinished one a `P` record the next write continues. */
  write(text: string): void {
    if (text === '') return;
    const time = new Date().toISOString();
    const parts = text.split('\n');
    const last = parts.pop() ?? '';
    let out = '';
    for (const line of parts) out += `${time} stdout F ${line}\n`;
    if (last !== '') out += `${time} stdout P ${last}\n`;
    this.#partial = last !== '';
    // Appended at once, so a follow never reads half a record.
    try {
      appendFileSync(this.#file, out);
    } catch {
      // A full disk loses the log, never the build.
    }
  }

  /** docker's words for a step's progress. */
  progress(event: BuildProgress): void {
    if (event.kind === 'output') {
      this.write(event.text);
      return;
    }
    const lead = this.#partial ? '\n' : '';
    // The step's number alone, as berth build printed it from status before its log was streamed.
    if (event.status === 'running') this.write(`${lead}Step ${event.step} : ${event.instruction}\n`);
    else if (event.status === 'failed') this.write(lead);
    else if (event.cached === true) this.write(`${lead} ---> Using cache\n`);
    else if (event.cached === false) this.write(`${lead} ---> Ran in ${seconds(event.ms)}\n`);
  }

  /** The build ended: a follow stops at the end of the file. */
  close(): void {
    this.#done();
  }
}

const seconds = (ms: number | undefined) => `${((ms ?? 0) / 1000).toFixed(2)}s`;
