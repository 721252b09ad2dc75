// What a reconciler is: a function of an object's key that makes the world match the object, safe to run twice.
//
// A Request names an object and nothing else (no event, no old copy): reconciling is level-based, so a delete is
// seen as a missing object on read. The answer is "done", "look again after N ms", an error (retried with the
// queue's per-key back-off) or a TerminalError (recorded, not retried until the object changes again).
import { BerthError } from '@berth/api';

export interface Request {
  /** Absent for cluster-scoped kinds. */
  readonly namespace?: string;
  readonly name: string;
}

export interface Result {
  /** Reconcile this key again after this long, even if nothing changes (a success, not a failure). */
  readonly requeueAfterMs?: number;
}

export type LogFields = Readonly<Record<string, unknown>>;

/** The runtime's logging surface (a pino logger's methods fit it with a small adapter). */
export interface Logger {
  info(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export const silentLogger: Logger = { info: () => undefined, error: () => undefined };

/** A logger that adds `fields` to every line of `log`. */
export function withFields(log: Logger, fields: LogFields): Logger {
  return {
    info: (m, f) => log.info(m, { ...fields, ...f }),
    error: (m, f) => log.error(m, { ...fields, ...f }),
  };
}

export interface ReconcileContext {
  /** Aborted when the controller stops: long work should give up at the next safe point. */
  readonly signal: AbortSignal;
  /** The controller's logger, bound to this request. */
  readonly log: Logger;
  /** The controller's name. */
  readonly controller: string;
}

export interface Reconciler {
  reconcile(ctx: ReconcileContext, req: Request): Promise<Result | void>;
}

/** A plain function is a reconciler too (controller-runtime's reconcile.Func). */
export type ReconcileFunc = (ctx: ReconcileContext, req: Request) => Promise<Result | void>;

export function asReconciler(r: Reconciler | ReconcileFunc): Reconciler {
  return typeof r === 'function' ? { reconcile: r } : r;
}

/** Gives up on a request: recorded and reported, never retried (until the object's next change enqueues it). */
export class TerminalError extends BerthError<'BERTH_RECONCILE_TERMINAL'> {
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super('BERTH_RECONCILE_TERMINAL', message, options);
  }
}

/** The TerminalError in `err` or its `cause` chain (a reconciler may wrap one), if any. */
export function terminalErrorOf(err: unknown): TerminalError | undefined {
  for (
    let e: unknown = err, depth = 0;
    e !== undefined && e !== null && depth < 16;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    if (TerminalError.isInstance(e)) return e;
  }
  return undefined;
}

/** The queue key of a request: `namespace/name`, or `name` when cluster-scoped. */
export function requestKey(req: Request): string {
  return req.namespace === undefined || req.namespace === '' ? req.name : `${req.namespace}/${req.name}`;
}

/** The request a queue key stands for (names cannot contain '/', so the first one splits). */
export function requestOf(key: string): Request {
  const slash = key.indexOf('/');
  return slash < 0 ? { name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
