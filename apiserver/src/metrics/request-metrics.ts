// The request chain's two measuring steps: `measured` (outermost) counts every answered request by verb, resource
// and code and times it, as kube-apiserver's MonitorRequest does; `tracked` (just before the router, once the
// request is read and allowed) keeps the in-flight, long-running and watcher gauges. A request costs one label
// object, one map lookup, and a counter and a histogram increment. `measuredUpgrade` does the same for exec, attach
// and port-forward, which are WebSocket or SPDY upgrades and never pass the koa app.

import type { Duplex } from 'node:stream';
import type { Middleware } from 'koa';
import type { RequestInfo } from '../request-chain/request-info.js';
import type { RequestState } from '../request-chain/state.js';
import type { ApiServerMetrics, RequestLabels } from './api-metrics.js';

/** kube-apiserver's reported verbs: the REST verb as it installs it, APPLY for server-side apply. */
const reportedVerbs: Readonly<Record<string, string>> = {
  get: 'GET',
  list: 'LIST',
  watch: 'WATCH',
  create: 'POST',
  update: 'PUT',
  patch: 'PATCH',
  delete: 'DELETE',
  deletecollection: 'DELETECOLLECTION',
};

const connectSubresources = new Set(['exec', 'attach', 'portforward', 'proxy']);

function labelsOf(info: RequestInfo | undefined, method: string, contentType: string | undefined): RequestLabels {
  const r = info?.resource;
  if (r === undefined)
    return {
      verb: method,
      dry_run: '',
      group: '',
      version: '',
      resource: '',
      subresource: '',
      scope: '',
      component: 'apiserver',
    };
  let verb = reportedVerbs[r.verb] ?? method;
  // kube-apiserver reports the streaming subresources as CONNECT, whichever method opened them.
  if (r.subresource !== undefined && connectSubresources.has(r.subresource)) verb = 'CONNECT';
  if (verb === 'PATCH' && contentType?.startsWith('application/apply-patch') === true) verb = 'APPLY';
  return {
    verb,
    dry_run: info?.query.get('dryRun') ?? '',
    group: r.group,
    version: r.version,
    resource: r.resource,
    subresource: r.subresource ?? '',
    scope: r.name !== undefined ? 'resource' : r.namespace !== undefined ? 'namespace' : 'cluster',
    component: 'apiserver',
  };
}

const isLongRunning = (labels: RequestLabels): boolean =>
  labels.verb === 'WATCH' || labels.subresource === 'log' || labels.verb === 'CONNECT';

interface Series {
  readonly count: { inc(): void };
  readonly duration: { observe(seconds: number): void } | undefined;
}

/** Outermost: the answer's code is final when the rest of the chain returns (errors are answered inside). */
export function measured(metrics: ApiServerMetrics): Middleware<RequestState> {
  // The label children of each series seen, so a request does one map lookup instead of hashing and checking
  // its labels twice. Bounded by the label values a server can produce (its resources × verbs × codes).
  const series = new Map<string, Series>();
  const seriesOf = (labels: RequestLabels, code: string): Series => {
    const key = `${labels.verb} ${labels.dry_run} ${labels.group} ${labels.version} ${labels.resource} ${labels.subresource} ${labels.scope} ${code}`;
    let found = series.get(key);
    if (found === undefined) {
      found = {
        count: metrics.requests.series({ ...labels, code }),
        // A watch lasts as long as its client wants: its duration says nothing about latency (as in Kubernetes).
        duration: isLongRunning(labels) ? undefined : metrics.requestDuration.series(labels),
      };
      series.set(key, found);
    }
    return found;
  };
  return async (ctx, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      const labels = labelsOf(ctx.state.requestInfo, ctx.method, ctx.req.headers['content-type']);
      const s = seriesOf(labels, String(ctx.res.statusCode));
      s.count.inc();
      s.duration?.observe((performance.now() - start) / 1000);
    }
  };
}

/** Just before the router: what is being served right now. */
export function tracked(metrics: ApiServerMetrics, kindOf: (info: RequestInfo) => string): Middleware<RequestState> {
  return async (ctx, next) => {
    const info = ctx.state.requestInfo;
    const r = info?.resource;
    if (info !== undefined && (r?.verb === 'watch' || r?.subresource === 'log')) {
      const labels = labelsOf(info, ctx.method, undefined);
      const watcher =
        labels.verb === 'WATCH' ? { group: labels.group, version: labels.version, kind: kindOf(info) } : undefined;
      metrics.longRunning.inc(labels);
      if (watcher !== undefined) metrics.watchers.inc(watcher);
      try {
        await next();
      } finally {
        metrics.longRunning.dec(labels);
        if (watcher !== undefined) metrics.watchers.dec(watcher);
      }
      return;
    }
    const kind = { request_kind: ctx.method === 'GET' || ctx.method === 'HEAD' ? 'readOnly' : 'mutating' };
    metrics.inflight.inc(kind);
    try {
      await next();
    } finally {
      metrics.inflight.dec(kind);
    }
  };
}

/**
 * An upgrade once the request chain let it through or refused it: `ended(code)` counts it (101 when it was handed
 * to its handler, else the Status code it was refused with, as kube-apiserver counts a CONNECT), and an upgraded
 * one stays in apiserver_longrunning_requests until its socket closes.
 */
export type UpgradeMeasure = (state: RequestState, socket: Duplex) => (code: number) => void;

export function measuredUpgrade(metrics: ApiServerMetrics): UpgradeMeasure {
  return (state, socket) => (code) => {
    const labels = labelsOf(state.requestInfo, 'CONNECT', undefined);
    metrics.requests.series({ ...labels, code: String(code) }).inc();
    if (code !== 101 || socket.destroyed) return;
    metrics.longRunning.inc(labels);
    socket.once('close', () => metrics.longRunning.dec(labels));
  };
}
