// A push's per-layer progress as the node agent writes it in an Image's status.message while it pushes
// (`push layers: 1a2b3c4d5e6f Pushing, 7f8e9d0c1b2a Layer already exists`), in docker push's words, and read back
// by the CLI to print docker's per-layer lines. The message of a finished push ends with the same list.

export type PushLayerState = 'Preparing' | 'Pushing' | 'Pushed' | 'Layer already exists';

const states: readonly PushLayerState[] = ['Preparing', 'Pushing', 'Pushed', 'Layer already exists'];
const marker = 'push layers: ';

/** The message for layers by their 12-hex short id, in the order given. */
export function formatPushProgress(layers: ReadonlyMap<string, PushLayerState>): string {
  return `${marker}${[...layers].map(([id, state]) => `${id} ${state}`).join(', ')}`;
}

/** The layers a message names (its last `push layers:` list), in order; empty for any other message. */
export function parsePushProgress(message: string | undefined): Map<string, PushLayerState> {
  const out = new Map<string, PushLayerState>();
  const at = message?.lastIndexOf(marker) ?? -1;
  if (message === undefined || at < 0) return out;
  for (const part of message.slice(at + marker.length).split(', ')) {
    const m = /^([0-9a-f]{12}) (.+)$/.exec(part);
    if (m !== null && (states as readonly string[]).includes(m[2]!)) out.set(m[1]!, m[2] as PushLayerState);
  }
  return out;
}
