// `berth kill` through the API: the annotation `berth.dev/signal: SIGHUP` asks the agent running the Container to
// send its process that signal once; the agent removes the annotation when it has, which is the CLI's answer.
// (A one-shot request on the object, as `kubectl rollout restart` asks with an annotation.)
import { constants } from 'node:os';

export { signalAnnotation } from '@berth/api';

/** The signal a request names (`HUP`, `SIGHUP` or `1`), or undefined when it names none. */
export function requestedSignal(value: string | undefined): NodeJS.Signals | undefined {
  if (value === undefined) return undefined;
  const upper = value.trim().toUpperCase();
  const signals = constants.signals as Record<string, number>;
  if (/^\d+$/.test(upper)) {
    const n = Number(upper);
    return Object.keys(signals).find((k) => signals[k] === n) as NodeJS.Signals | undefined;
  }
  const name = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return name in signals ? (name as NodeJS.Signals) : undefined;
}
