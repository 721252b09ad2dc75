// Durability under kill -9, for any backend: a child process writes from many concurrent writers and reports every
// acknowledged write; it is killed at random moments (and the backend's server with it, if it has one), and each
// time the reopened store must hold every acknowledged write (at that revision or later) with a revision that
// never went backwards, and a history without gaps.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Test } from 'tap';
import type { Store } from '../../src/storage/interface.js';
import { take } from './conformance.js';

export interface CrashBackend {
  readonly rounds: number;
  /** What crash-writer.ts takes after the round: the level store's dir, or `etcd <endpoint>`. */
  readonly writerArgs: readonly string[];
  /** Opens the store the child wrote (without automatic compaction). */
  open(): Promise<Store>;
  /** Runs right after the child is killed: kill -9 the backend's server too and start it again. */
  afterKill?(): Promise<void>;
  /** The rounds together must acknowledge more writes than this. */
  readonly minAcks: number;
  /** A writing round is killed this many ms after the child is ready, plus up to the second number. @default [20, 400] */
  readonly killWindowMs?: readonly [number, number];
}

const child = new URL('./crash-writer.ts', import.meta.url).pathname;

interface RoundResult {
  readonly acks: Array<readonly [string, number]>;
  readonly readyRevision: number | undefined;
}

/** Run the writer child and SIGKILL it after `killAfterMs` (counted from "ready", or from spawn if `early`). */
async function runChild(
  writerArgs: readonly string[],
  round: number,
  killAfterMs: number,
  early: boolean,
): Promise<RoundResult> {
  const proc = spawn(
    process.execPath,
    ['--conditions=berth-src', '--import=tsx', child, String(round), ...writerArgs],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const acks: Array<readonly [string, number]> = [];
  let readyRevision: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  const kill = (): void => void proc.kill('SIGKILL');
  if (early) timer = setTimeout(kill, killAfterMs);
  const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
  const safety = setTimeout(kill, 30_000);
  // Read to the end: lines written before the kill are still in the pipe.
  for await (const line of createInterface({ input: proc.stdout })) {
    const [key, rev] = line.split(' ');
    if (key === 'ready') {
      readyRevision = Number(rev);
      if (!early) timer = setTimeout(kill, killAfterMs);
    } else if (key !== undefined && rev !== undefined) {
      acks.push([key, Number(rev)]);
    }
  }
  const signal = await exited;
  clearTimeout(timer);
  clearTimeout(safety);
  if (signal !== 'SIGKILL') throw new Error(`writer exited by itself (${signal}): ${stderr}`);
  return { acks, readyRevision };
}

export async function crashRounds(t: Test, backend: CrashBackend): Promise<void> {
  // Where the store starts: 0 for a new level store; a new etcd is at revision 1 already, with no event for it.
  let lastRevision = await backend.open().then(async (store) => {
    const revision = store.revision();
    await store.close();
    return revision;
  });
  let totalAcks = 0;
  let lost = 0;
  for (let round = 0; round < backend.rounds; round++) {
    // Most rounds die while writing; some die during start-up or while opening the store.
    const early = round % 5 === 4;
    const [from, span] = backend.killWindowMs ?? [20, 400];
    const killAfter = early ? Math.floor(Math.random() * 600) : from + Math.floor(Math.random() * span);
    const { acks, readyRevision } = await runChild(backend.writerArgs, round, killAfter, early);
    await backend.afterKill?.();
    if (readyRevision !== undefined) {
      t.ok(readyRevision >= lastRevision, `round ${round}: the child opened at ${readyRevision} >= ${lastRevision}`);
    }

    const store = await backend.open();
    try {
      const revision = store.revision();
      const maxAcked = acks.reduce((m, [, r]) => Math.max(m, r), 0);
      t.ok(revision >= lastRevision, `round ${round}: revision ${revision} did not go backwards from ${lastRevision}`);
      t.ok(revision >= maxAcked, `round ${round}: revision ${revision} covers the newest ack ${maxAcked}`);

      const newest = new Map<string, number>();
      for (const [key, rev] of acks) newest.set(key, Math.max(rev, newest.get(key) ?? 0));
      const items = new Map((await store.list({ prefix: `/crash/${round}/` })).items.map((i) => [i.key, i] as const));
      let missing = 0;
      for (const [key, rev] of newest) {
        const item = items.get(key);
        if (item === undefined || item.modRevision < rev) missing++;
      }
      const corrupt = [...items.values()].filter((i) => JSON.parse(i.value).revision !== i.modRevision).length;
      t.equal(missing, 0, `round ${round}: all ${acks.length} acknowledged writes present`);
      t.equal(corrupt, 0, `round ${round}: every value carries its own revision`);
      lost += missing;

      // History holds an event for every write since the previous round, in order, without gaps.
      const count = revision - lastRevision;
      if (count > 0) {
        const w = store.watch('', lastRevision);
        const events = await take(w, count);
        w.close();
        const gaps = events.filter((e, i) => e.revision !== lastRevision + i + 1).length;
        t.equal(gaps, 0, `round ${round}: history ${lastRevision + 1}..${revision} is contiguous`);
        const byRevision = new Map(events.map((e) => [e.revision, e.key]));
        t.equal(
          acks.filter(([key, rev]) => byRevision.get(rev) !== key).length,
          0,
          `round ${round}: each ack is in history`,
        );
      }
      lastRevision = revision;
      totalAcks += acks.length;
    } finally {
      await store.close();
    }
  }
  t.comment(`${backend.rounds} kills, ${totalAcks} acknowledged writes, ${lost} lost, final revision ${lastRevision}`);
  t.ok(totalAcks > backend.minAcks, 'the children acknowledged a meaningful number of writes');
}
