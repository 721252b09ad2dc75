// A Dockerfile parsed (by dockerfile-ast, the parser of the Docker language server) into stages of plain instructions.
import {
  type Arg,
  type Copy,
  DockerfileParser,
  type Env,
  type From,
  type Instruction as AstInstruction,
  type Label,
  type Run,
} from 'dockerfile-ast';
import { BuildError } from './errors.js';

export interface Instruction {
  /** Upper case: RUN, COPY, … */
  readonly keyword: string;
  /** 1-based line of the Dockerfile. */
  readonly line: number;
  /** The arguments as written, line continuations joined. */
  readonly args: string;
  /** The arguments split into words, flags left out. */
  readonly words: readonly string[];
  /** `--from=build` → { from: 'build' }. */
  readonly flags: Readonly<Record<string, string>>;
  /** The exec (JSON array) form's strings, when written that way. */
  readonly json: readonly string[] | undefined;
  /** ENV, ARG and LABEL's name/value pairs (a value is undefined for `ARG NAME`). */
  readonly properties: readonly (readonly [string, string | undefined])[];
  /** RUN and COPY here-documents (`<<EOF` … `EOF`), in order; `words` then holds only the first line's words. */
  readonly heredocs: readonly Heredoc[];
}

export interface Heredoc {
  readonly name: string;
  /** The body, each line ending in a newline (leading tabs stripped for `<<-`), as BuildKit gives it. */
  readonly content: string;
  /** `<<"EOF"` or `<<'EOF'`: no variable expansion in the body. */
  readonly quoted: boolean;
  /** The word as written on the instruction line, e.g. `<<-"EOF"`. */
  readonly word: string;
}

export interface Stage {
  readonly index: number;
  /** `FROM … AS name`, lower-cased as docker does. */
  readonly name: string | undefined;
  /** The base reference (variables not yet expanded), `scratch`, or an earlier stage's name. */
  readonly base: string;
  readonly platform: string | undefined;
  readonly line: number;
  readonly instructions: readonly Instruction[];
}

export interface ParsedDockerfile {
  /** ARGs before the first FROM: usable in FROM lines, and (re-declared) in stages. */
  readonly globalArgs: readonly (readonly [string, string | undefined])[];
  readonly stages: readonly Stage[];
}

const known = new Set([
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
]);

function execForm(args: string): string[] | undefined {
  const trimmed = args.trim();
  if (!trimmed.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
  } catch {
    return undefined;
  }
}

type Position = { readonly line: number; readonly character: number };

/** The text between two parser positions. */
function slice(lines: readonly string[], start: Position, end: Position): string {
  if (start.line === end.line) return (lines[start.line] ?? '').slice(start.character, end.character);
  const parts = [(lines[start.line] ?? '').slice(start.character)];
  for (let l = start.line + 1; l < end.line; l++) parts.push(lines[l] ?? '');
  parts.push((lines[end.line] ?? '').slice(0, end.character));
  return parts.join('\n');
}

function heredocsOf(i: AstInstruction, keyword: string, lines: readonly string[]): Heredoc[] {
  if (keyword !== 'RUN' && keyword !== 'COPY') return [];
  return (i as Run | Copy).getHeredocs().map((h) => {
    const startRange = h.getStartRange();
    const word = slice(lines, startRange.start, startRange.end);
    const range = h.getContentRange();
    let content = range === null ? '' : `${slice(lines, range.start, range.end)}\n`;
    if (word.startsWith('<<-')) content = content.replace(/^\t+/gm, '');
    return { name: h.getName(), content, quoted: /["']/.test(word), word };
  });
}

function toInstruction(i: AstInstruction, lines: readonly string[]): Instruction {
  const keyword = i.getKeyword().toUpperCase();
  const line = i.getRange().start.line + 1;
  if (!known.has(keyword))
    throw new BuildError('DOCKERFILE_SYNTAX', `unknown instruction: ${i.getKeyword()}`, { line });
  const args = i.getArgumentsContent() ?? '';
  const flags: Record<string, string> = {};
  const withFlags = i as AstInstruction & { getFlags?: () => { getName(): string; getValue(): string | null }[] };
  for (const f of withFlags.getFlags?.() ?? []) flags[f.getName().toLowerCase()] = f.getValue() ?? '';
  let properties: (readonly [string, string | undefined])[] = [];
  if (keyword === 'ENV' || keyword === 'LABEL')
    properties = (i as Env | Label).getProperties().map((p) => [p.getName(), p.getValue() ?? ''] as const);
  if (keyword === 'ARG') {
    const p = (i as Arg).getProperty();
    if (p !== null) properties = [[p.getName(), p.getValue() ?? undefined]];
  }
  if ((keyword === 'ENV' || keyword === 'LABEL' || keyword === 'ARG') && properties.length === 0)
    throw new BuildError('DOCKERFILE_SYNTAX', `${keyword} needs at least one name=value`, { line });
  if (args.trim() === '' && keyword !== 'ONBUILD')
    throw new BuildError('DOCKERFILE_SYNTAX', `${keyword} requires at least one argument`, { line });
  const heredocs = heredocsOf(i, keyword, lines);
  // With here-documents the arguments run on into their bodies: the words are the instruction line's only.
  const firstLine = i.getRange().start.line;
  const argsOnLine =
    heredocs.length === 0 ? i.getArguments() : i.getArguments().filter((a) => a.getRange().start.line === firstLine);
  return {
    keyword,
    line,
    args,
    words: argsOnLine.map((a) => a.getValue()),
    heredocs,
    flags,
    json: execForm(args),
    properties,
  };
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const document = DockerfileParser.parse(text);
  const lines = text.split(/\r?\n/);
  const globalArgs: (readonly [string, string | undefined])[] = [];
  const stages: {
    index: number;
    name: string | undefined;
    base: string;
    platform: string | undefined;
    line: number;
    instructions: Instruction[];
  }[] = [];
  for (const raw of document.getInstructions()) {
    const instruction = toInstruction(raw, lines);
    if (instruction.keyword === 'FROM') {
      const from = raw as From;
      const base = from.getImage() ?? '';
      if (base === '') throw new BuildError('DOCKERFILE_SYNTAX', 'FROM requires an image', { line: instruction.line });
      const words = instruction.words;
      if (words.length !== 1 && !(words.length === 3 && words[1]?.toUpperCase() === 'AS'))
        throw new BuildError('DOCKERFILE_SYNTAX', `FROM takes "image [AS name]", got "${instruction.args}"`, {
          line: instruction.line,
        });
      stages.push({
        index: stages.length,
        name: from.getBuildStage()?.toLowerCase() ?? undefined,
        base,
        platform: instruction.flags.platform,
        line: instruction.line,
        instructions: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) {
      if (instruction.keyword !== 'ARG')
        throw new BuildError('DOCKERFILE_SYNTAX', `${instruction.keyword} before the first FROM`, {
          line: instruction.line,
        });
      globalArgs.push(...instruction.properties);
      continue;
    }
    stage.instructions.push(instruction);
  }
  if (stages.length === 0) throw new BuildError('DOCKERFILE_SYNTAX', 'the Dockerfile has no FROM instruction');
  return { globalArgs, stages };
}
