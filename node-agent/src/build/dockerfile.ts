// A Dockerfile parsed (by dockerfile-ast, the parser of the Docker language server) into stages of plain instructions.
import {
  type Arg,
  DockerfileParser,
  type Env,
  type From,
  type Instruction as AstInstruction,
  type Label,
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

function toInstruction(i: AstInstruction): Instruction {
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
  return {
    keyword,
    line,
    args,
    words: i.getArguments().map((a) => a.getValue()),
    flags,
    json: execForm(args),
    properties,
  };
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const document = DockerfileParser.parse(text);
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
    const instruction = toInstruction(raw);
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
