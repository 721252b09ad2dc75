// A Compose healthcheck as berth's readiness probe: docker reports an unhealthy container without killing it, which
// is what a readiness probe does (not Ready, no Service traffic), and `depends_on: condition: service_healthy`
// waits for that Ready condition.

import type { Probe } from '@berth/api';
import { UsageError } from '../errors.js';

type Obj = Record<string, unknown>;

/** Compose's durations (`1m30s`, `500ms`, `10s`) in whole seconds, at least 1; undefined when absent. */
export function durationSeconds(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value).trim();
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000001 };
  let total = 0;
  let rest = text;
  while (rest !== '') {
    const m = /^(\d+(?:\.\d+)?)(h|ms|m|s|us)/.exec(rest);
    if (m === null) throw new UsageError(`${field}: "${text}" is not a duration (like 10s or 1m30s)`);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return Math.max(1, Math.ceil(total));
}

/** The probe a service's healthcheck stands for; undefined without one (or with `disable`, or test NONE). */
export function healthcheckProbe(value: unknown, service: string): Probe | undefined {
  if (value === undefined || value === null) return undefined;
  const h = value as Obj;
  const field = `service ${service}: healthcheck`;
  if (h['disable'] === true) return undefined;
  const test = h['test'];
  let command: string[];
  if (typeof test === 'string') command = ['/bin/sh', '-c', test];
  else if (Array.isArray(test) && test.length > 0) {
    const [kind, ...rest] = test.map(String);
    if (kind === 'NONE') return undefined;
    if (kind === 'CMD') command = rest;
    else if (kind === 'CMD-SHELL') command = ['/bin/sh', '-c', rest.join(' ')];
    else throw new UsageError(`${field}: test must start with CMD, CMD-SHELL or NONE`);
  } else throw new UsageError(`${field}: test is missing`);
  if (command.length === 0) throw new UsageError(`${field}: test has no command`);
  const period = durationSeconds(h['interval'], `${field}.interval`) ?? 30;
  const timeout = durationSeconds(h['timeout'], `${field}.timeout`) ?? 30;
  const start = durationSeconds(h['start_period'], `${field}.start_period`);
  const retries = h['retries'] === undefined ? 3 : Number(h['retries']);
  if (!Number.isInteger(retries) || retries < 1) throw new UsageError(`${field}.retries must be a whole number ≥ 1`);
  return {
    exec: { command },
    periodSeconds: period,
    timeoutSeconds: timeout,
    failureThreshold: retries,
    ...(start !== undefined ? { initialDelaySeconds: start } : {}),
  };
}

export type DependencyCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

/** depends_on as names and the condition each waits for (the short list form means service_started). */
export function dependencies(value: unknown, service: string): Map<string, DependencyCondition> {
  const out = new Map<string, DependencyCondition>();
  if (Array.isArray(value)) for (const d of value) out.set(String(d), 'service_started');
  else if (typeof value === 'object' && value !== null)
    for (const [name, spec] of Object.entries(value as Obj)) {
      const condition = ((spec as Obj | null)?.['condition'] ?? 'service_started') as string;
      if (!['service_started', 'service_healthy', 'service_completed_successfully'].includes(condition))
        throw new UsageError(`service ${service}: depends_on ${name}: unknown condition "${condition}"`);
      out.set(name, condition as DependencyCondition);
    }
  return out;
}
