// Compose's variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
// `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}` and `$$` for a literal `$`, in every string value of the parsed file
// (keys are left alone), from the shell's environment over the project directory's `.env`, as docker compose does.
// A `$` followed by anything else is kept as written (compose-go refuses it; berth is lenient).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

type Vars = Readonly<Record<string, string | undefined>>;

/** The `.env` of `dir` (KEY=VALUE lines, `#` comments, optional quotes), or nothing when there is none. */
export async function dotEnv(dir: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(join(dir, '.env'), 'utf8');
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (m === null) continue;
    const value = m[2]!;
    const quoted = /^(["'])(.*)\1$/.exec(value);
    out[m[1]!] = quoted !== null ? quoted[2]! : value.replace(/\s+#.*$/, '');
  }
  return out;
}

const pattern =
  /\$(?:(\$)|([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\})/g;

/** One string with its variables replaced; `where` names the field in errors. */
export function interpolateString(text: string, vars: Vars, where: string): string {
  return text.replace(
    pattern,
    (_m, dollar: string | undefined, bare: string | undefined, name: string | undefined, op?: string, arg?: string) => {
      if (dollar !== undefined) return '$';
      const key = bare ?? name!;
      const value = vars[key];
      const inner = (s: string) => interpolateString(s, vars, where);
      switch (op) {
        case undefined:
          return value ?? '';
        case ':-':
          return value === undefined || value === '' ? inner(arg ?? '') : value;
        case '-':
          return value === undefined ? inner(arg ?? '') : value;
        case ':?':
        case '?':
          if (value === undefined || (op === ':?' && value === ''))
            throw new UsageError(
              `${where}: required variable ${key} is missing a value${arg ? `: ${inner(arg)}` : ''}`,
            );
          return value;
        case ':+':
          return value === undefined || value === '' ? '' : inner(arg ?? '');
        default:
          return value === undefined ? '' : inner(arg ?? '');
      }
    },
  );
}

/** Every string in the parsed document interpolated (a copy; `path` is the dotted field for errors). */
export function interpolate(value: unknown, vars: Vars, path = ''): unknown {
  if (typeof value === 'string') return interpolateString(value, vars, path || 'value');
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, vars, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      interpolate(v, vars, path ? `${path}.${k}` : k),
    ]),
  );
}

/** The variables a project in `dir` sees: the shell's environment over `.env`. */
export async function projectVariables(dir: string): Promise<Vars> {
  return { ...(await dotEnv(dir)), ...process.env };
}
