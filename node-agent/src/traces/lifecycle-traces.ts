// OpenTelemetry spans of each Container's first start on this node, apply → scheduled → pulled → started, built
// from the moments the agent already notes (the Container's creation, its own Pulling, Pulled and Started Events)
// and exported as OTLP/JSON-shaped lines to a file. The trace id is the Container's UID (128 bits, as a trace id),
// so whatever else traces the same Container joins the same trace.

import { appendFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { type HrTime, SpanKind, trace, ROOT_CONTEXT } from '@opentelemetry/api';
import { ExportResultCode, hrTimeToNanoseconds } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  type IdGenerator,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

/** What the agent tells the tracer: an Event it posted for a Container, when it posted it. */
export interface LifecycleTraces {
  event(
    container: { metadata: { uid?: string; name?: string; namespace?: string; creationTimestamp?: string } },
    reason: string,
  ): void;
  /** The Container is gone from this node: nothing more to remember of it. */
  forget(uid: string): void;
  close(): Promise<void>;
}

/** Root spans take the Container's UID as their trace id; every other id is random, as the SDK's own. */
class UidTraceIds implements IdGenerator {
  next: string | undefined;
  generateTraceId(): string {
    const id = this.next ?? randomBytes(16).toString('hex');
    this.next = undefined;
    return id;
  }
  generateSpanId(): string {
    return randomBytes(8).toString('hex');
  }
}

/** One JSON line per span, with OTLP/JSON's field names (ids in hex, times in Unix nanoseconds as strings). */
class FileExporter implements SpanExporter {
  constructor(
    private readonly file: string,
    private readonly node: string,
  ) {}
  export(spans: ReadableSpan[], done: (result: { code: ExportResultCode; error?: Error }) => void): void {
    try {
      const lines = spans.map((s) =>
        JSON.stringify({
          resource: { 'service.name': 'berth-node-agent', 'k8s.node.name': this.node },
          traceId: s.spanContext().traceId,
          spanId: s.spanContext().spanId,
          ...(s.parentSpanContext === undefined ? {} : { parentSpanId: s.parentSpanContext.spanId }),
          name: s.name,
          kind: s.kind,
          startTimeUnixNano: String(hrTimeToNanoseconds(s.startTime)),
          endTimeUnixNano: String(hrTimeToNanoseconds(s.endTime)),
          attributes: s.attributes,
        }),
      );
      appendFileSync(this.file, `${lines.join('\n')}\n`);
      done({ code: ExportResultCode.SUCCESS });
    } catch (e) {
      done({ code: ExportResultCode.FAILED, error: e as Error });
    }
  }
  async shutdown(): Promise<void> {}
}

const hr = (ms: number): HrTime => [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];

interface Pending {
  firstEventMs: number;
  pullingMs?: number;
  pulledMs?: number;
}

/** Traces to `file`; each Container is traced once, at its first Started (a restart is not a new apply). */
export function lifecycleTraces(file: string, nodeName: string): LifecycleTraces {
  const ids = new UidTraceIds();
  const provider = new BasicTracerProvider({
    idGenerator: ids,
    spanProcessors: [new SimpleSpanProcessor(new FileExporter(file, nodeName))],
  });
  const tracer = provider.getTracer('berth-node-agent');
  const pending = new Map<string, Pending>();
  const traced = new Set<string>();
  return {
    event(container, reason) {
      const uid = container.metadata.uid ?? '';
      if (uid === '' || traced.has(uid)) return;
      const now = Date.now();
      let p = pending.get(uid);
      if (p === undefined) pending.set(uid, (p = { firstEventMs: now }));
      if (reason === 'Pulling') p.pullingMs ??= now;
      if (reason === 'Pulled') p.pulledMs ??= now;
      if (reason !== 'Started') return;
      pending.delete(uid);
      traced.add(uid);
      const created = Date.parse(container.metadata.creationTimestamp ?? '');
      const applied = Number.isFinite(created) ? Math.min(created, p.firstEventMs) : p.firstEventMs;
      const attributes = {
        'k8s.namespace.name': container.metadata.namespace ?? '',
        'k8s.container.name': container.metadata.name ?? '',
        'k8s.pod.uid': uid,
        'k8s.node.name': nodeName,
      };
      ids.next = uid.replaceAll('-', '').toLowerCase();
      const root = tracer.startSpan(
        'apply',
        { kind: SpanKind.INTERNAL, startTime: hr(applied), attributes },
        ROOT_CONTEXT,
      );
      const parent = trace.setSpan(ROOT_CONTEXT, root);
      const child = (name: string, from: number, to: number) =>
        tracer.startSpan(name, { startTime: hr(from), attributes }, parent).end(hr(Math.max(from, to)));
      // Until this node's agent took it up: the scheduler's binding and the watch that brought it here.
      child('scheduled', applied, p.pullingMs ?? p.pulledMs ?? p.firstEventMs);
      const pullFrom = p.pullingMs ?? p.pulledMs ?? p.firstEventMs;
      const pullTo = p.pulledMs ?? pullFrom;
      child('pulled', pullFrom, pullTo);
      child('started', pullTo, now);
      root.end(hr(now));
    },
    forget(uid) {
      pending.delete(uid);
      traced.delete(uid);
    },
    close: () => provider.shutdown(),
  };
}
