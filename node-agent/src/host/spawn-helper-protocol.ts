// The messages between the node agent and its spawn helper (spawn-helper-main.ts), one JSON object each way.

/** Run a tool to completion (runCommand), or start a detached one and report its first sync-pipe line (conmon). */
export type HelperRequest =
  | {
      readonly op: 'run';
      readonly id: number;
      readonly file: string;
      readonly args: readonly string[];
      readonly cwd?: string;
      readonly env: Record<string, string | undefined>;
      readonly input?: string;
    }
  | {
      readonly op: 'sync';
      readonly id: number;
      readonly file: string;
      readonly args: readonly string[];
      readonly cwd: string;
      readonly env: Record<string, string | undefined>;
    }
  | { readonly op: 'kill'; readonly id: number };

/** What spawn() threw or emitted as 'error' (ENOENT, EACCES, …), as plain fields. */
export interface SpawnFailure {
  readonly message: string;
  readonly code?: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly path?: string;
}

export type HelperReply =
  | {
      readonly id: number;
      readonly code: number | null;
      readonly signal: NodeJS.Signals | null;
      readonly stdout: string;
      readonly stderr: string;
    }
  /** `line`: the first line on fd 3 ('' when it closed without one, then `stderr` is all the tool wrote). */
  | { readonly id: number; readonly line: string; readonly stderr: string }
  | { readonly id: number; readonly failed: SpawnFailure };
