// What the fake runtime can "run": a handful of busybox commands, parsed from argv into steps played on timers.
//
// Understood, as busybox would run them: `true`, `false`, `sleep N`, `echo WORDS…`, `cat` (stdin to stdout
// until EOF) and `sh -c SCRIPT`, where SCRIPT is statements separated by `;` or newlines, each one of
// `echo WORDS [>&2]`, `exit N`, `sleep N`, `sleep N & wait`, `trap "exit N" SIGNAL`, `true`, `false`, `cat`.
// Any other command does not exist (CommandNotFound, as crun reports it); any other statement is refused
// loudly, so a test never passes by running something the fake only pretends to understand.
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { RuntimeError } from '../../src/runtime/errors.js';

export type Step =
  | { readonly op: 'echo'; readonly text: string; readonly stream: 'stdout' | 'stderr' }
  | { readonly op: 'exit'; readonly code: number }
  /** A command's exit status without ending the script (`true`, `false`). */
  | { readonly op: 'status'; readonly code: number }
  | { readonly op: 'sleep'; readonly ms: number }
  | { readonly op: 'trap'; readonly signal: NodeJS.Signals; readonly code: number }
  | { readonly op: 'cat' };

const COMMANDS = new Set(['true', 'false', 'sleep', 'echo', 'cat', 'sh']);

/** The steps `args` stands for; throws CommandNotFound for a command busybox does not have. */
export function parseProgram(args: readonly string[]): Step[] {
  const [command, ...rest] = args;
  if (command === undefined || !COMMANDS.has(command.replace(/^\/bin\//, ''))) {
    throw new RuntimeError('CommandNotFound', `${JSON.stringify(command ?? '')}: executable file not found in $PATH`);
  }
  const name = command.replace(/^\/bin\//, '');
  if (name === 'sh') {
    if (rest[0] !== '-c' || rest[1] === undefined)
      throw new RuntimeError(
        'InvalidConfig',
        `the fake runtime runs sh only as sh -c SCRIPT, got ${JSON.stringify(args)}`,
      );
    return rest[1]
      .split(/[;\n]/)
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map(parseStatement);
  }
  return [parseStatement([name, ...rest].join(' '))];
}

function parseStatement(statement: string): Step {
  let m: RegExpExecArray | null;
  if (statement === 'true') return { op: 'status', code: 0 };
  if (statement === 'false') return { op: 'status', code: 1 };
  if (statement === 'cat') return { op: 'cat' };
  if ((m = /^exit (\d+)$/.exec(statement)) !== null) return { op: 'exit', code: Number(m[1]) };
  if ((m = /^sleep (\d+(?:\.\d+)?)(?: & wait)?$/.exec(statement)) !== null)
    return { op: 'sleep', ms: Number(m[1]) * 1000 };
  if ((m = /^trap ["']exit (\d+)["'] (?:SIG)?([A-Z0-9]+)$/.exec(statement)) !== null)
    return { op: 'trap', signal: `SIG${m[2]}` as NodeJS.Signals, code: Number(m[1]) };
  if ((m = /^echo(?: (.*?))?( >&2)?$/.exec(statement)) !== null) {
    return { op: 'echo', text: unquote(m[1] ?? ''), stream: m[2] === undefined ? 'stdout' : 'stderr' };
  }
  throw new RuntimeError('InvalidConfig', `the fake runtime cannot interpret ${JSON.stringify(statement)}`);
}

function unquote(words: string): string {
  return words.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
}

export interface ProgramIo {
  write(stream: 'stdout' | 'stderr', text: string): void;
  readonly stdin: Readable | undefined;
  /** Signals with a trap end the program with the trap's code (the caller routes signals here). */
  readonly traps: Map<NodeJS.Signals, number>;
  /** Aborted when the process is killed: the program stops where it is. */
  readonly signal: AbortSignal;
}

/** Plays `steps`; resolves with the exit code (after the last step, the last command's status, as a shell's). */
export async function playProgram(steps: readonly Step[], io: ProgramIo): Promise<number> {
  let status = 0;
  for (const step of steps) {
    io.signal.throwIfAborted();
    status = 0;
    switch (step.op) {
      case 'status':
        status = step.code;
        break;
      case 'echo':
        io.write(step.stream, `${step.text}\n`);
        break;
      case 'exit':
        return step.code;
      case 'sleep':
        await sleep(step.ms, undefined, { signal: io.signal });
        break;
      case 'trap':
        io.traps.set(step.signal, step.code);
        break;
      case 'cat':
        if (io.stdin === undefined) break; // stdin is /dev/null
        for await (const chunk of io.stdin as AsyncIterable<Buffer | string>) {
          io.signal.throwIfAborted();
          io.write('stdout', chunk.toString());
        }
        break;
    }
  }
  return status;
}
