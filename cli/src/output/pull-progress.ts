// docker's per-layer pull lines (`1a2b3c4d5e6f: Pull complete`) from the progress the node agent writes in the
// Container's status: on a terminal the block of lines is redrawn in place as layers move on, otherwise each
// change is a line of its own.

import { parsePullProgress, type LayerState } from '@berth/api';

/** A printer fed each status message seen while the Container is Pulling. */
export function pullProgressPrinter(
  out: NodeJS.WritableStream & { readonly isTTY?: boolean },
): (message: string | undefined) => void {
  const shown = new Map<string, LayerState>();
  const tty = out.isTTY === true && process.env['NO_COLOR'] === undefined;
  return (message) => {
    const layers = parsePullProgress(message);
    const changed = [...layers].filter(([id, state]) => shown.get(id) !== state);
    if (changed.length === 0) return;
    if (tty) {
      // Back up over the block drawn before, then draw every layer again.
      const up = shown.size > 0 ? `\x1b[${shown.size}A` : '';
      for (const [id, state] of layers) shown.set(id, state);
      out.write(`${up}${[...shown].map(([id, state]) => `\x1b[2K${id}: ${state}\n`).join('')}`);
      return;
    }
    for (const [id, state] of changed) {
      shown.set(id, state);
      out.write(`${id}: ${state}\n`);
    }
  };
}
