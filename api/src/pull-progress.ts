// A pull's per-layer progress as the node agent writes it in a Container's status.message while it pulls
// (`layers: 1a2b3c4d5e6f Downloading, 7f8e9d0c1b2a Pull complete`), in docker's words, and read back by the CLI
// to print docker's per-layer lines.

export type LayerState = 'Already exists' | 'Downloading' | 'Download complete' | 'Pull complete';

const states: readonly LayerState[] = ['Already exists', 'Downloading', 'Download complete', 'Pull complete'];

/** The message for layers by their 12-hex short id, in the order given. */
export function formatPullProgress(layers: ReadonlyMap<string, LayerState>): string {
  return `layers: ${[...layers].map(([id, state]) => `${id} ${state}`).join(', ')}`;
}

/** The layers a message names, in order; empty for any other message. */
export function parsePullProgress(message: string | undefined): Map<string, LayerState> {
  const out = new Map<string, LayerState>();
  if (message === undefined || !message.startsWith('layers: ')) return out;
  for (const part of message.slice('layers: '.length).split(', ')) {
    const m = /^([0-9a-f]{12}) (.+)$/.exec(part);
    if (m !== null && (states as readonly string[]).includes(m[2]!)) out.set(m[1]!, m[2] as LayerState);
  }
  return out;
}

/** `sha256:1a2b…` → `1a2b3c4d5e6f`, docker's short layer id. */
export const shortLayerId = (digest: string): string => digest.replace(/^[a-z0-9]+:/, '').slice(0, 12);
