// Dockerfile variable expansion ($VAR, ${VAR}, ${VAR:-default}, ${VAR:+alternate}) as the builder does it for
// ENV, ARG, COPY, WORKDIR, USER, LABEL, EXPOSE and FROM; RUN is left to the shell. `\$` keeps a literal dollar.

const namePattern = /^[A-Za-z_][A-Za-z0-9_]*/;

export function expandVariables(text: string, vars: ReadonlyMap<string, string>, escapeChar = '\\'): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === escapeChar && text[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    if (ch !== '$') {
      out += ch;
      continue;
    }
    if (text[i + 1] === '{') {
      const end = text.indexOf('}', i + 2);
      if (end < 0) {
        out += text.slice(i);
        break;
      }
      const body = text.slice(i + 2, end);
      const name = namePattern.exec(body)?.[0];
      if (name === undefined) {
        out += text.slice(i, end + 1);
      } else {
        const rest = body.slice(name.length);
        const value = vars.get(name);
        if (rest.startsWith(':-'))
          out += value === undefined || value === '' ? expandVariables(rest.slice(2), vars) : value;
        else if (rest.startsWith(':+'))
          out += value === undefined || value === '' ? '' : expandVariables(rest.slice(2), vars);
        else out += value ?? '';
      }
      i = end;
      continue;
    }
    const name = namePattern.exec(text.slice(i + 1))?.[0];
    if (name === undefined) {
      out += ch;
      continue;
    }
    out += vars.get(name) ?? '';
    i += name.length;
  }
  return out;
}
