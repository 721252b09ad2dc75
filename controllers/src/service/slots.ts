// Swarm's task slots for a Service's replicas: the slot numbers new replicas of a template get, so a replica that
// replaces another (a rolling update, a failed or deleted one) keeps that one's number and `web.2` stays `web.2`.
import type { Container } from '@berth/api';
import { slotLabel } from './labels.js';
import { hashOf, isActive } from './replicas.js';

/** The replica's slot, or undefined for one made before slots (or adopted without one). */
export function slotOf(c: Container): number | undefined {
  const n = Number(c.metadata.labels?.[slotLabel]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/**
 * Slots for `count` new replicas of template `hash`, given every replica the Service owns: first the slots no live
 * replica of `hash` holds yet but another replica does (one of an older template, a finished or a terminating one),
 * lowest first, as Swarm's updater and restarts put each new task in the slot of the task it replaces; then the
 * lowest slots no live replica holds, as Swarm's scale-up fills the gaps.
 */
export function slotsForNew(owned: readonly Container[], hash: string, count: number): number[] {
  const live = owned.filter(isActive);
  const taken = new Set(
    live
      .filter((c) => hashOf(c) === hash)
      .map(slotOf)
      .filter((s) => s !== undefined),
  );
  const replacing = [
    ...new Set(
      owned
        .filter((c) => !(isActive(c) && hashOf(c) === hash))
        .map(slotOf)
        .filter((s): s is number => s !== undefined && !taken.has(s)),
    ),
  ].sort((a, b) => a - b);
  const held = new Set([...taken, ...live.map(slotOf).filter((s) => s !== undefined)]);
  const out: number[] = [];
  for (const s of replacing) {
    if (out.length === count) return out;
    out.push(s);
    taken.add(s);
  }
  for (let s = 1; out.length < count; s++)
    if (!held.has(s) && !taken.has(s)) {
      out.push(s);
      taken.add(s);
    }
  return out;
}
