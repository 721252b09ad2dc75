// docker's per-layer pull and push lines (`1a2b3c4d5e6f: Pull complete`, `1a2b3c4d5e6f: Pushed`) from the progress
// the node agent writes in the pulling Container's or the pushing Image's status: on a terminal the block of lines
// is redrawn in place as layers move on, otherwise each change is a line of its own.

import { parsePullProgress, parsePushProgress } from '@berth/api/helpers';

/** A printer fed each status message seen while the pull or push goes on; `parse` reads the layers out of one. */
export function layerProgressPrinter(
  out: NodeJS.WritableStream & { readonly isTTY?: boolean },
  parse: (message: string | undefined) => ReadonlyMap<string, string>,
): (message: string | undefined) => void {
  const shown = new Map<string, string>();
  const tty = out.isTTY === true && process.env['NO_COLOR'] === undefined;
  return (message) => {
    const layers = parse(message);
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

export const pullProgressPrinter = (out: NodeJS.WritableStream & { readonly isTTY?: boolean }) =>
  layerProgressPrinter(out, parsePullProgress);

export const pushProgressPrinter = (out: NodeJS.WritableStream & { readonly isTTY?: boolean }) =>
  layerProgressPrinter(out, parsePushProgress);
