// A Container's `top` subresource, as docker's GET /containers/{id}/top: the node's `ps` (default `-ef`) run with the
// caller's options, keeping the rows whose PID is one of the container's processes; answered as docker's TopResponse.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { StreamingError } from './status.js';

/** docker's TopResponse: the ps header's titles, and one row of fields per process. */
export interface TopResponse {
  readonly Titles: readonly string[];
  readonly Processes: ReadonlyArray<readonly string[]>;
}

const run = promisify(execFile);

/** Options made of letters (`-ef`, `aux`, `--forest`), or a field list after -o/o/-O/O (`pid,user:12,args`). */
const LETTERS = /^-{0,2}[A-Za-z]+$/;
const FIELD_LIST = /^[A-Za-z0-9_:]+(,[A-Za-z0-9_:]+)*$/;
const FORMAT_OPTION = /^(-?[oO]|--format)$/;
const ATTACHED_FIELDS = /^-[oO][A-Za-z0-9_:]+(,[A-Za-z0-9_:]+)*$/;
/** procps' UNIX options that take no value: with these alone its UNIX parse cannot fail over to its BSD one. */
const UNIX_FLAGS = /^-[AacdefFHjlLmMNPTwyZ]+$/;
/** An option of one dash or none: an `e` in it means BSD's environment if procps parses it as BSD. */
const SHORT_OPTIONS = /^-?[A-Za-z]+$/;

/**
 * `ps_args`, split on blanks as docker splits them, checked before anything runs: ps runs on the node as root, so
 * only what names options and output fields is passed (no paths, no header renames that could hide the PID). BSD's
 * `e` (each process's environment) is refused too: top is readable by the view role, which may not read Secrets.
 */
export function parsePsArgs(query: URLSearchParams): string[] {
  const text = query.get('ps_args') ?? '';
  const args = text.split(/[ \t]+/).filter((a) => a !== '');
  if (args.length === 0) return ['-ef'];
  const fieldList = (arg: string, i: number) => i > 0 && FORMAT_OPTION.test(args[i - 1] ?? '') && FIELD_LIST.test(arg);
  const allowed = (arg: string, i: number) => LETTERS.test(arg) || fieldList(arg, i) || ATTACHED_FIELDS.test(arg);
  // procps parses a line its UNIX parser refuses again as BSD (`ps -aux` as `ps aux`), so `-ex` or `-e -aux` shows
  // environments: with an `e`, every other short option must be a UNIX flag (-o and its fields aside).
  const options = args.filter((a, i) => SHORT_OPTIONS.test(a) && !fieldList(a, i) && !/^-[oO]/.test(a));
  const environment = options.some((a) => a.includes('e')) && !options.every((a) => UNIX_FLAGS.test(a));
  if (args.length > 16 || !args.every(allowed) || environment)
    throw new StreamingError(
      'BadRequest',
      `ps_args: invalid value "${text}": only options made of letters and -o field lists are allowed (not BSD's e)`,
    );
  return args;
}

/** Splits on ASCII blanks only, as docker does (a command line may hold other whitespace). */
const fields = (line: string) => line.split(/[ \t\n\f\r]+/).filter((f) => f !== '');

/** The rows of `ps` output whose PID is in `pids`; a thread row (`-` in PID, with `m`) goes with its process. */
export function psRows(output: string, pids: ReadonlySet<number>): TopResponse {
  const [header = '', ...lines] = output.split('\n');
  const titles = fields(header);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new StreamingError('BadRequest', "couldn't find PID field in ps output");
  const processes: string[][] = [];
  let previousKept = false;
  for (const line of lines) {
    const f = fields(line);
    if (f.length === 0) continue;
    const pid = f[pidIndex];
    const keep: boolean = pid === '-' ? previousKept : pids.has(Number(pid));
    if (pid !== '-') previousKept = keep;
    // The last column (a command line) keeps its blanks.
    if (keep) processes.push([...f.slice(0, titles.length - 1), f.slice(titles.length - 1).join(' ')]);
  }
  return { Titles: titles, Processes: processes };
}

/** Runs the node's ps over the container's processes (`pids`), with `-q` when ps allows it alongside `args`. */
export async function containerTop(args: readonly string[], pids: readonly number[]): Promise<TopResponse> {
  const options = {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    cwd: '/',
    maxBuffer: 8 << 20,
    timeout: 10_000,
  };
  let stdout: string;
  try {
    ({ stdout } = await run('ps', [...args, `-q${pids.join(',')}`], options));
  } catch {
    // Some options (f) cannot go with -q: then every process, filtered here.
    try {
      ({ stdout } = await run('ps', [...args], options));
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr ?? '';
      const reason = stderr.split('\n')[0] || (err as Error).message;
      throw new StreamingError('BadRequest', `ps: ${reason}`, { cause: err });
    }
  }
  return psRows(stdout, new Set(pids));
}
