// An exec probe's command run through the runtime's exec path (the one `kubectl exec` uses), cut off at its timeout.
import type { Runtime } from '../runtime/runtime.js';

/** The most output kept of a probe's command. */
const maxBytes = 10 * 1024;

export function execInContainer(
  runtime: Pick<Runtime, 'exec'>,
): (id: string, args: readonly string[], timeoutMs: number) => Promise<{ code: number; output: string } | 'timeout'> {
  return async (id, args, timeoutMs) => {
    const session = await runtime.exec(id, { args });
    const chunks: Buffer[] = [];
    let size = 0;
    const keep = (b: Buffer) => {
      if (size >= maxBytes) return;
      chunks.push(b);
      size += b.length;
    };
    session.stdout.on('data', keep);
    session.stderr.on('data', keep);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    try {
      const code = await Promise.race([session.exitCode, timedOut]);
      if (code === 'timeout') return 'timeout';
      return { code, output: Buffer.concat(chunks).toString('utf8') };
    } finally {
      clearTimeout(timer);
      // A timed-out command is hung up on, as kubelet's exec prober gives up on it.
      await session.close().catch(() => undefined);
    }
  };
}
