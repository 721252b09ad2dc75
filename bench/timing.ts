// What every benchmark needs besides its subject: medians and a command's exit (free ports: @berth/testkit).

import { spawn } from 'node:child_process';

/** The median; the mean of the two middle values for an even count. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

/** Runs a command to its exit, keeping its stderr for error messages. */
export function exitOf(file: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', reject);
    // 'exit', not 'close': `crun run -d` hands its stdio to the container, which keeps the pipe open.
    child.on('exit', (code) => {
      child.stderr.destroy();
      resolve({ code, stderr });
    });
  });
}
