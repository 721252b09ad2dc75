// The template hash: a short, stable name for one revision of a Service's template, put in every replica's name
// and in the label berth.dev/template-hash (Kubernetes' pod-template-hash, from controller.ComputeHash).
import { createHash } from 'node:crypto';
import type { ContainerTemplate } from '@berth/api';

/** Kubernetes' rand.SafeEncodeString alphabet: no vowels (no words), no 0/1/3 (no look-alikes). */
const alphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** JSON with keys sorted at every level, so the same template always hashes the same. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The hash of `template` (labels, annotations, spec): a 32-bit digest spelt in the safe alphabet. */
export function templateHash(template: ContainerTemplate): string {
  const digest = createHash('sha256')
    .update(canonical({ metadata: template.metadata ?? {}, spec: template.spec }))
    .digest();
  const decimal = String(digest.readUInt32BE(0));
  return [...decimal].map((c) => alphabet[c.charCodeAt(0) % alphabet.length]).join('');
}

/** A random suffix of `n` characters of the same alphabet (as generateName's). */
export function randomSuffix(n = 5): string {
  let out = '';
  for (let i = 0; i < n; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}
