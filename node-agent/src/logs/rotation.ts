// Size-based log rotation: the agent renames a full log aside and asks conmon to reopen a fresh one.
//
// Why the agent rotates instead of conmon alone: conmon's --log-size-max replaces the file with an
// empty one, losing everything; renaming keeps the previous file for `tailLines`/`sinceSeconds`.
// conmon keeps a larger --log-size-max as a backstop for when the agent is down.
import { rename, stat } from 'node:fs/promises';

/** The single kept predecessor of a log file. */
export function rotatedLogPath(logPath: string): string {
  return `${logPath}.1`;
}

/**
 * Rotates `logPath` when it is larger than `maxBytes`: it becomes `<logPath>.1` (replacing the older one)
 * and `reopen` tells the writer to start a new file. Lines written between the two land in `.1`, where
 * readers still find them. Returns whether it rotated.
 */
export async function rotateLogIfLarger(
  logPath: string,
  maxBytes: number,
  reopen: () => Promise<boolean>,
): Promise<boolean> {
  let size: number;
  try {
    size = (await stat(logPath)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (size <= maxBytes) return false;
  await rename(logPath, rotatedLogPath(logPath));
  await reopen();
  return true;
}
