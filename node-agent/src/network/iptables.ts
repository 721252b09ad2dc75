// The host's `iptables` (nf_tables or legacy, as the CNI plugins use), always with -w: agents and plugins run it at once.
import { type CommandResult, runCommand } from '../host/run-command.js';
import { NetworkError } from './errors.js';

export const iptables = (args: readonly string[]): Promise<CommandResult> =>
  runCommand('iptables', ['-w', '5', ...args]);

/** Runs `iptables args`; a failure is a NetworkPluginFailed naming the command. */
export async function mustIptables(args: readonly string[]): Promise<void> {
  const out = await iptables(args);
  if (out.code !== 0)
    throw new NetworkError(
      'NetworkPluginFailed',
      `iptables ${args.join(' ')} failed: ${out.stderr.trim() || `exit ${out.code ?? out.signal}`}`,
    );
}

/** Makes `chain` in `table`; an existing one is fine. */
export async function newChain(table: string, chain: string): Promise<void> {
  const made = await iptables(['-t', table, '-N', chain]);
  if (made.code !== 0 && !/exists/i.test(made.stderr))
    throw new NetworkError('NetworkPluginFailed', `iptables -t ${table} -N ${chain} failed: ${made.stderr.trim()}`);
}

/** Jumps from `from` to `chain` in `table`, once: first in `from` (before any accept) or last. */
export async function ensureJump(
  table: string,
  from: string,
  chain: string,
  position: 'first' | 'last',
): Promise<void> {
  if ((await iptables(['-t', table, '-C', from, '-j', chain])).code === 0) return;
  await mustIptables(['-t', table, ...(position === 'first' ? ['-I', from, '1'] : ['-A', from]), '-j', chain]);
}
