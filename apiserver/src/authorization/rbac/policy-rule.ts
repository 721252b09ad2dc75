// RBAC's PolicyRule: whether a rule allows a request (Kubernetes' rbac RuleAllows), and whether one set of rules
// covers another (its policy comparator, the basis of escalation prevention).

import type { Attributes } from '../attributes.js';

export interface PolicyRule {
  readonly verbs: readonly string[];
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
}

const all = '*';
const has = (list: readonly string[] | undefined, v: string): boolean => list?.includes(v) === true;

const verbMatches = (rule: PolicyRule, verb: string): boolean => has(rule.verbs, all) || has(rule.verbs, verb);

const groupMatches = (rule: PolicyRule, group: string): boolean =>
  has(rule.apiGroups, all) || has(rule.apiGroups, group);

// `*` is every resource and subresource; `*/scale` is the scale subresource of any resource.
function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  for (const r of rule.resources ?? []) {
    if (r === all || r === combined) return true;
    if (subresource !== '' && r === `*/${subresource}`) return true;
  }
  return false;
}

const nameMatches = (rule: PolicyRule, name: string): boolean =>
  (rule.resourceNames?.length ?? 0) === 0 || has(rule.resourceNames, name);

/** `*` is every path; a trailing `*` is a prefix. */
function urlMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === all || u === path) return true;
    if (u.endsWith('*') && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

export function ruleAllows(rule: PolicyRule, a: Attributes): boolean {
  if (!verbMatches(rule, a.verb)) return false;
  if (!a.resourceRequest) return urlMatches(rule, a.path);
  const combined = a.subresource === '' ? a.resource : `${a.resource}/${a.subresource}`;
  return groupMatches(rule, a.apiGroup) && resourceMatches(rule, combined, a.subresource) && nameMatches(rule, a.name);
}

/** A rule split into rules of one verb, group, resource and name (or one verb and URL) each. */
function breakdown(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const verb of rule.verbs) {
    for (const url of rule.nonResourceURLs ?? []) out.push({ verbs: [verb], nonResourceURLs: [url] });
    for (const group of rule.apiGroups ?? [])
      for (const resource of rule.resources ?? []) {
        const names = rule.resourceNames ?? [];
        if (names.length === 0) out.push({ verbs: [verb], apiGroups: [group], resources: [resource] });
        for (const name of names)
          out.push({ verbs: [verb], apiGroups: [group], resources: [resource], resourceNames: [name] });
      }
  }
  return out;
}

function covers(owner: PolicyRule, atom: PolicyRule): boolean {
  if (!has(owner.verbs, all) && !atom.verbs.every((v) => has(owner.verbs, v))) return false;
  const url = atom.nonResourceURLs?.[0];
  if (url !== undefined)
    return (owner.nonResourceURLs ?? []).some(
      (u) => u === all || u === url || (u.endsWith('*') && url.startsWith(u.slice(0, -1))),
    );
  const group = atom.apiGroups?.[0] ?? '';
  const resource = atom.resources?.[0] ?? '';
  if (!has(owner.apiGroups, all) && !has(owner.apiGroups, group)) return false;
  const slash = resource.indexOf('/');
  const resourceCovered =
    has(owner.resources, all) ||
    has(owner.resources, resource) ||
    (slash >= 0 && has(owner.resources, `*/${resource.slice(slash + 1)}`));
  if (!resourceCovered) return false;
  const ownerNames = owner.resourceNames ?? [];
  if (ownerNames.length === 0) return true;
  const names = atom.resourceNames ?? [];
  return names.length > 0 && names.every((n) => ownerNames.includes(n));
}

/** The parts of `requested` no rule of `owner` covers (empty when the owner holds everything requested). */
export function uncovered(owner: readonly PolicyRule[], requested: readonly PolicyRule[]): PolicyRule[] {
  return requested.flatMap(breakdown).filter((atom) => !owner.some((o) => covers(o, atom)));
}

const goQuoted = (list: readonly string[]) => `[${list.map((s) => JSON.stringify(s)).join(' ')}]`;

/** Kubernetes' PolicyRule CompactString: `{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`. */
export function compactString(rule: PolicyRule): string {
  const parts: string[] = [];
  if ((rule.apiGroups?.length ?? 0) > 0) parts.push(`APIGroups:${goQuoted(rule.apiGroups!)}`);
  if ((rule.resources?.length ?? 0) > 0) parts.push(`Resources:${goQuoted(rule.resources!)}`);
  if ((rule.resourceNames?.length ?? 0) > 0) parts.push(`ResourceNames:${goQuoted(rule.resourceNames!)}`);
  if ((rule.nonResourceURLs?.length ?? 0) > 0) parts.push(`NonResourceURLs:${goQuoted(rule.nonResourceURLs!)}`);
  parts.push(`Verbs:${goQuoted(rule.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/** A stored rule, read defensively: anything that is not a list of strings is an empty list. */
export function readRule(value: unknown): PolicyRule | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const list = (k: string): string[] =>
    Array.isArray(v[k]) ? (v[k] as unknown[]).filter((s): s is string => typeof s === 'string') : [];
  return {
    verbs: list('verbs'),
    apiGroups: list('apiGroups'),
    resources: list('resources'),
    resourceNames: list('resourceNames'),
    nonResourceURLs: list('nonResourceURLs'),
  };
}
