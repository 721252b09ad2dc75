// `ps --filter KEY=VALUE` as docker reads it: values of one key are alternatives, keys must all match; status
// filters reach stopped Containers too (as docker's do, without -a).

import type { Container } from '@berth/api';
import { UsageError } from '../errors.js';
import { containerState } from './container-state.js';

export type ContainerFilter = (c: Container) => boolean;

const statuses = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

/** The filter flags as one predicate; `stateful` says whether a status filter is among them. */
export function containerFilter(flags: readonly string[]): { matches: ContainerFilter; stateful: boolean } {
  const byKey = new Map<string, string[]>();
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq < 1) throw new UsageError(`bad format of filter (expected name=value): ${flag}`);
    const key = flag.slice(0, eq).toLowerCase();
    byKey.set(key, [...(byKey.get(key) ?? []), flag.slice(eq + 1)]);
  }
  const tests: ContainerFilter[] = [];
  for (const [key, values] of byKey) {
    const one = matcher(key, values);
    tests.push((c) => values.some((v) => one(c, v)));
  }
  return { matches: (c) => tests.every((test) => test(c)), stateful: byKey.has('status') };
}

function matcher(key: string, values: readonly string[]): (c: Container, value: string) => boolean {
  switch (key) {
    case 'id':
      return (c, v) => (c.metadata.uid ?? '').replace(/-/g, '').startsWith(v);
    case 'name':
      // docker matches names as a regular expression, a substring unless anchored.
      return (c, v) => safeRegExp(v).test(c.metadata.name ?? '');
    case 'label':
      return (c, v) => {
        const eq = v.indexOf('=');
        const labels = c.metadata.labels ?? {};
        return eq < 0 ? v in labels : labels[v.slice(0, eq)] === v.slice(eq + 1);
      };
    case 'ancestor':
      return (c, v) => sameImage(c.spec.image, v);
    case 'status':
      for (const v of values)
        if (!statuses.includes(v))
          throw new UsageError(`invalid filter 'status=${v}': want one of ${statuses.join(', ')}`);
      return (c, v) => (c.metadata.deletionTimestamp !== undefined ? 'removing' : containerState(c)) === v;
    default:
      throw new UsageError(`invalid filter '${key}': berth's ps filters by id, name, label, ancestor and status`);
  }
}

function safeRegExp(text: string): RegExp {
  try {
    return new RegExp(text);
  } catch {
    throw new UsageError(`invalid filter 'name=${text}': not a regular expression`);
  }
}

/** docker's ancestor match: the reference with or without its registry, path prefix or tag. */
function sameImage(image: string, wanted: string): boolean {
  const withoutTag = (r: string) => r.replace(/@.*$/, '').replace(/:[^:/]+$/, '');
  const parts = image.split('/');
  const names = new Set<string>();
  for (let i = 0; i < parts.length; i++) {
    const tail = parts.slice(i).join('/');
    names.add(tail).add(withoutTag(tail));
  }
  return names.has(wanted);
}
