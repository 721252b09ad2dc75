// Go-style durations (`30s`, `5m`, `1h30m`, `500ms`) as the CRDs' interval and timeout fields spell them.
import { GitOpsError } from './errors.js';

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a Go duration; throws BERTH_GITOPS_INVALID_SPEC for anything else, or for zero. */
export function parseDuration(text: string, field: string): number {
  const re = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/gy;
  let total = 0;
  let at = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    total += Number(m[1]) * unitMs[m[2] ?? 's']!;
    at = re.lastIndex;
  }
  if (text === '' || at !== text.length || !(total > 0))
    throw new GitOpsError('BERTH_GITOPS_INVALID_SPEC', `${field}: ${JSON.stringify(text)} is not a duration > 0`);
  return total;
}
