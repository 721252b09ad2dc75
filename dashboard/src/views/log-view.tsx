// A Container's log, followed: the last lines, then new ones as they are written (the log subresource with
// follow=true, streamed through fetch). Scrolls along while at the bottom; keeps the last 5,000 lines.

import { useEffect, useRef, useState } from 'preact/hooks';
import { apiFetch, streamLines } from '../api/client.js';
import { objectPath, resourceType } from '../api/resources.js';

const keep = 5_000;

export function LogView(props: { namespace: string; name: string }) {
  const [lines, setLines] = useState<readonly string[]>([]);
  const [state, setState] = useState<'following' | 'ended' | string>('following');
  const [timestamps, setTimestamps] = useState(false);
  const pre = useRef<HTMLPreElement>(null);
  const atBottom = useRef(true);
  useEffect(() => {
    const abort = new AbortController();
    setLines([]);
    setState('following');
    const containers = resourceType('containers')!;
    const path = `${objectPath(containers, props.namespace, props.name, 'log')}?follow=true&tailLines=1000${timestamps ? '&timestamps=true' : ''}`;
    let pending: string[] = [];
    let flush: ReturnType<typeof setTimeout> | undefined;
    const push = (line: string) => {
      pending.push(line);
      flush ??= setTimeout(() => {
        flush = undefined;
        const added = pending;
        pending = [];
        setLines((old) => {
          const all = old.concat(added);
          return all.length > keep ? all.slice(all.length - keep) : all;
        });
      }, 50);
    };
    void (async () => {
      try {
        const response = await apiFetch(path, { signal: abort.signal, accept: '*/*' });
        for await (const line of streamLines(response)) push(line);
        setState('ended');
      } catch (e) {
        if (!abort.signal.aborted) setState(e instanceof Error ? e.message : String(e));
      }
    })();
    return () => {
      abort.abort();
      clearTimeout(flush);
    };
  }, [props.namespace, props.name, timestamps]);
  useEffect(() => {
    const el = pre.current;
    if (el !== null && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <div class="logs">
      <div class="toolbar">
        <span class={`live ${state === 'following' ? 'on' : 'off'}`} data-testid="log-state">
          {state === 'following' ? 'following' : state === 'ended' ? 'log ended' : state}
        </span>
        <label>
          <input
            type="checkbox"
            checked={timestamps}
            onChange={(e) => setTimestamps((e.currentTarget as HTMLInputElement).checked)}
          />{' '}
          timestamps
        </label>
        <button type="button" onClick={() => setLines([])}>
          Clear
        </button>
      </div>
      <pre
        ref={pre}
        class="log"
        data-testid="log"
        onScroll={(e) => {
          const el = e.currentTarget as HTMLPreElement;
          atBottom.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
        }}
      >
        {lines.join('\n')}
      </pre>
    </div>
  );
}
