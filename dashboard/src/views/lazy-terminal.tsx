// The terminal, loaded on first use: xterm.js is most of the dashboard's bytes, and lists should not wait for it.

import type { FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';

type Props = { namespace: string; name: string };

export function LazyTerminal(props: Props) {
  const [view, setView] = useState<FunctionComponent<Props>>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    import('./terminal-view.js').then(
      (m) => setView(() => m.TerminalView),
      (e: unknown) => setError(String(e)),
    );
  }, []);
  if (error !== undefined) return <p class="error">{error}</p>;
  const View = view;
  return View === undefined ? <p>loading the terminal…</p> : <View {...props} />;
}
