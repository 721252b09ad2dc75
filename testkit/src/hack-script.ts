// Runs one of the repository's hack/ scripts, the same ones a developer runs by hand.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The repository's root (testkit/src/ or testkit/dist/ is two levels below it). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs `hack/<name>` with `args`; resolves with its stdout, rejects on a non-zero exit. */
export async function runHackScript(
  name: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<string> {
  const { stdout } = await execFileAsync(join(repoRoot, 'hack', name), [...args], { env: { ...process.env, ...env } });
  return stdout;
}
