// Nodes' usage from metrics.k8s.io, kept current by a modest poll. The metrics API has no watch (metrics-server
// answers get and list only, and its numbers change once per resolution, 15 s by default), so the page asks again
// on that beat, as the Kubernetes Dashboard's metrics scraper does; not while the tab is hidden, and at once
// when it is shown again. Everything else on the page is a watch.

import { useEffect, useState } from 'preact/hooks';
import { apiJson } from './client.js';

interface NodeMetricsList {
  readonly items: readonly {
    metadata: { name: string };
    timestamp: string;
    usage: { cpu: string; memory: string };
  }[];
}

export interface NodeUsage {
  readonly usage: ReadonlyMap<string, { cpu: string; memory: string }>;
  /** The newest reading's time, shown beside the list. */
  readonly timestamp?: string;
  readonly error?: string;
}

/** Seconds between reads: metrics-server's resolution; `berth.usageIntervalSeconds` in localStorage overrides it. */
const intervalMs = (): number => {
  const chosen = Number(localStorage.getItem('berth.usageIntervalSeconds'));
  return Number.isFinite(chosen) && chosen >= 1 ? chosen * 1000 : 15_000;
};

/** The nodes' usage while `enabled`, and a function that reads it now (the Refresh button). */
export function useNodeUsage(enabled: boolean): NodeUsage & { refresh: () => void } {
  const [state, setState] = useState<NodeUsage>({ usage: new Map() });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!enabled) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      clearTimeout(timer);
      try {
        const list = await apiJson<NodeMetricsList>('/apis/metrics.k8s.io/v1beta1/nodes');
        if (stopped) return;
        const newest = list.items
          .map((m) => m.timestamp)
          .sort()
          .at(-1);
        setState({
          usage: new Map(list.items.map((m) => [m.metadata.name, m.usage])),
          ...(newest === undefined ? {} : { timestamp: newest }),
        });
      } catch (e) {
        if (stopped) return;
        setState((s) => ({ ...s, error: e instanceof Error ? e.message : String(e) }));
      }
      if (!stopped && document.visibilityState === 'visible') timer = setTimeout(() => void read(), intervalMs());
    };
    const shown = () => {
      if (document.visibilityState === 'visible') void read();
      else clearTimeout(timer);
    };
    document.addEventListener('visibilitychange', shown);
    void read();
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', shown);
    };
  }, [enabled, tick]);
  return { ...state, refresh: () => setTick((n) => n + 1) };
}
