// `berth completion bash|zsh`: a completion script made from the commands themselves (names, subcommands,
// options), so it never falls behind them; container names come from `berth ps -a` as the user types. zsh runs the
// bash function through bashcompinit.

import type { Command } from 'commander';
import { UsageError } from '../errors.js';

/** Commands whose arguments are containers. */
const takesContainers = new Set([
  'start',
  'stop',
  'restart',
  'rm',
  'kill',
  'wait',
  'logs',
  'exec',
  'attach',
  'inspect',
  'port',
  'rename',
  'top',
]);

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

function walk(command: Command, path: string, into: { subs: Map<string, string[]>; opts: Map<string, string[]> }) {
  const subs = command.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  if (subs.length > 0) into.subs.set(path, subs);
  into.opts.set(path, [
    ...command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)),
    '--help',
  ]);
  for (const c of command.commands) walk(c, path === '' ? c.name() : `${path} ${c.name()}`, into);
}

export function completionScript(program: Command, shell: string): string {
  if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`berth completion knows bash and zsh, not ${shell}`);
  const tree = { subs: new Map<string, string[]>(), opts: new Map<string, string[]>() };
  walk(program, '', tree);
  const table = (name: string, map: Map<string, string[]>) =>
    `  local -A ${name}=(\n${[...map].map(([k, v]) => `    [${quote(k === '' ? '.' : k)}]=${quote(v.join(' '))}`).join('\n')}\n  )`;
  const script = `# berth completion for ${shell}: eval "$(berth completion ${shell})"
_berth() {
${table('subs', tree.subs)}
${table('opts', tree.opts)}
  local cur="\${COMP_WORDS[COMP_CWORD]}" key="." w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    if [[ " \${subs[$key]} " == *" $w "* ]]; then
      if [[ $key == . ]]; then key="$w"; else key="$key $w"; fi
    fi
  done
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "\${opts[$key]}" -- "$cur"))
  elif [[ -n "\${subs[$key]}" ]]; then
    COMPREPLY=($(compgen -W "\${subs[$key]}" -- "$cur"))
  elif [[ " ${[...takesContainers].join(' ')} " == *" $key "* ]]; then
    COMPREPLY=($(compgen -W "$(berth ps -a --format '{{.Names}}' 2>/dev/null)" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
`;
  return shell === 'bash'
    ? `${script}complete -F _berth berth\n`
    : `autoload -U +X bashcompinit && bashcompinit\n${script}complete -F _berth berth\n`;
}
