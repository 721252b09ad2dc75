// The RBAC objects held in memory, as an informer would hold them: listed once, then kept current from the watch
// cache, so deciding a request reads no storage. Resolves the rules a user holds in a namespace (Kubernetes'
// DefaultRuleResolver), ClusterRole aggregation included, and caches the answer per user until RBAC changes.

import { labelSelectorFromMeta, matchesLabels, type LabelSelector, type ParsedLabelSelector } from '@berth/api';
import type { UserInfo } from '../../authentication/authenticator.js';
import type { Logger } from '../../logging/logger.js';
import type { KubeObject } from '../../objects/object.js';
import { follow, type Follower } from '../../storage/follow.js';
import type { Store, StoredValue } from '../../storage/interface.js';
import type { WatchSource } from '../../watch/watch-stream.js';
import { readRule, type PolicyRule } from './policy-rule.js';

const prefix = '/registry/rbac.authorization.k8s.io/';

interface Subject {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
}

interface Binding {
  readonly namespace: string;
  readonly subjects: readonly Subject[];
  readonly roleKind: string;
  readonly roleName: string;
}

interface ClusterRole {
  readonly rules: readonly PolicyRule[];
  readonly labels: Readonly<Record<string, string>>;
  /** Selectors of the ClusterRoles whose rules this one gathers; undefined when it aggregates nothing. */
  readonly aggregation: readonly ParsedLabelSelector[] | undefined;
}

const rulesOf = (obj: KubeObject): PolicyRule[] =>
  Array.isArray(obj['rules']) ? (obj['rules'] as unknown[]).flatMap((r) => readRule(r) ?? []) : [];

function readBinding(obj: KubeObject): Binding {
  const ref = (obj['roleRef'] ?? {}) as Record<string, unknown>;
  const subjects = Array.isArray(obj['subjects']) ? (obj['subjects'] as Record<string, unknown>[]) : [];
  return {
    namespace: obj.metadata.namespace ?? '',
    roleKind: String(ref['kind'] ?? ''),
    roleName: String(ref['name'] ?? ''),
    subjects: subjects.map((s) => ({
      kind: String(s['kind'] ?? ''),
      name: String(s['name'] ?? ''),
      namespace: String(s['namespace'] ?? ''),
    })),
  };
}

function readClusterRole(obj: KubeObject): ClusterRole {
  const aggregationRule = obj['aggregationRule'] as { clusterRoleSelectors?: unknown[] } | undefined;
  let aggregation: ParsedLabelSelector[] | undefined;
  if (Array.isArray(aggregationRule?.clusterRoleSelectors)) {
    aggregation = aggregationRule.clusterRoleSelectors.flatMap((s) => {
      try {
        const parsed = labelSelectorFromMeta(s as LabelSelector);
        return parsed === null ? [] : [parsed];
      } catch {
        return [];
      }
    });
  }
  return { rules: rulesOf(obj), labels: obj.metadata.labels ?? {}, aggregation };
}

/** Kubernetes' appliesTo: a User by name, a Group by membership, a ServiceAccount by its user name. */
function appliesTo(subject: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const ns = subject.namespace || bindingNamespace;
      return ns !== '' && user.name === `system:serviceaccount:${ns}:${subject.name}`;
    }
    default:
      return false;
  }
}

/** Cached answers are dropped wholesale past this many users × namespaces. */
const cacheLimit = 10_000;

export class RbacIndex {
  readonly #roles = new Map<string, readonly PolicyRule[]>();
  readonly #clusterRoles = new Map<string, ClusterRole>();
  /** key → binding; bindings of one namespace are also grouped for the lookup. */
  readonly #roleBindings = new Map<string, Binding>();
  readonly #clusterRoleBindings = new Map<string, Binding>();
  #byNamespace = new Map<string, Binding[]>();
  #rulesCache = new Map<string, readonly PolicyRule[]>();
  #aggregated = new Map<string, readonly PolicyRule[]>();
  #follower: Follower | undefined;

  /** Lists the RBAC objects, then follows their changes until closed. */
  async start(store: Store, source: WatchSource, log: Logger): Promise<void> {
    this.#follower = follow(
      store,
      source,
      prefix,
      {
        list: async (items) => this.#load(items),
        event: async (e) => {
          if (e.type === 'DELETE') this.#remove(e.key);
          else if (e.value !== undefined) this.#put(e.key, JSON.parse(e.value) as KubeObject);
          this.#changed();
        },
      },
      'RBAC',
      log,
    );
    await this.#follower.ready;
  }

  async close(): Promise<void> {
    await this.#follower?.close();
  }

  /** The rules `user` holds in `namespace` ('' for the cluster scope only): ClusterRoleBindings', then the namespace's. */
  rulesFor(user: UserInfo, namespace: string): readonly PolicyRule[] {
    const key = `${namespace}\u0000${user.name}\u0000${user.groups.join('\u0000')}`;
    const cached = this.#rulesCache.get(key);
    if (cached !== undefined) return cached;
    const rules: PolicyRule[] = [];
    for (const b of this.#clusterRoleBindings.values())
      if (b.roleKind === 'ClusterRole' && b.subjects.some((s) => appliesTo(s, user, '')))
        rules.push(...this.clusterRoleRules(b.roleName));
    if (namespace !== '')
      for (const b of this.#byNamespace.get(namespace) ?? []) {
        if (!b.subjects.some((s) => appliesTo(s, user, namespace))) continue;
        rules.push(...this.#roleRules(b.roleKind, namespace, b.roleName));
      }
    if (this.#rulesCache.size >= cacheLimit) this.#rulesCache.clear();
    this.#rulesCache.set(key, rules);
    return rules;
  }

  /** A Role's rules (`Role` in `namespace`) or a ClusterRole's, aggregation included; none when it does not exist. */
  #roleRules(kind: string, namespace: string, name: string): readonly PolicyRule[] {
    if (kind === 'Role') return this.#roles.get(`${namespace}/${name}`) ?? [];
    if (kind === 'ClusterRole') return this.clusterRoleRules(name);
    return [];
  }

  /**
   * A ClusterRole's rules, with those of every ClusterRole its aggregation rule selects (transitively), as the
   * aggregation controller would have written them into it.
   */
  clusterRoleRules(name: string): readonly PolicyRule[] {
    const cached = this.#aggregated.get(name);
    if (cached !== undefined) return cached;
    const rules: PolicyRule[] = [];
    const seen = new Set<string>();
    const visit = (n: string) => {
      if (seen.has(n)) return;
      seen.add(n);
      const role = this.#clusterRoles.get(n);
      if (role === undefined) return;
      rules.push(...role.rules);
      if (role.aggregation === undefined) return;
      for (const [other, candidate] of this.#clusterRoles)
        if (role.aggregation.some((s) => matchesLabels(s, candidate.labels))) visit(other);
    };
    visit(name);
    this.#aggregated.set(name, rules);
    return rules;
  }

  /** The rules a role (`Role` in `namespace`, or `ClusterRole`) grants, for escalation checks. */
  roleRules(kind: string, namespace: string, name: string): readonly PolicyRule[] | undefined {
    if (kind === 'Role' ? !this.#roles.has(`${namespace}/${name}`) : !this.#clusterRoles.has(name)) return undefined;
    return this.#roleRules(kind, namespace, name);
  }

  #load(items: StoredValue[]): void {
    this.#roles.clear();
    this.#clusterRoles.clear();
    this.#roleBindings.clear();
    this.#clusterRoleBindings.clear();
    for (const item of items) this.#put(item.key, JSON.parse(item.value) as KubeObject);
    this.#changed();
  }

  #put(key: string, obj: KubeObject): void {
    const kind = key.slice(prefix.length).split('/')[0];
    switch (kind) {
      case 'roles':
        this.#roles.set(`${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`, rulesOf(obj));
        break;
      case 'clusterroles':
        this.#clusterRoles.set(obj.metadata.name ?? '', readClusterRole(obj));
        break;
      case 'rolebindings':
        this.#roleBindings.set(key, readBinding(obj));
        break;
      case 'clusterrolebindings':
        this.#clusterRoleBindings.set(key, readBinding(obj));
        break;
    }
  }

  #remove(key: string): void {
    const [kind, a = '', b] = key.slice(prefix.length).split('/');
    if (kind === 'roles') this.#roles.delete(`${a}/${b ?? ''}`);
    else if (kind === 'clusterroles') this.#clusterRoles.delete(a);
    else if (kind === 'rolebindings') this.#roleBindings.delete(key);
    else if (kind === 'clusterrolebindings') this.#clusterRoleBindings.delete(key);
  }

  /** Any change may change anyone's rules: the caches start over (RBAC objects change rarely). */
  #changed(): void {
    this.#rulesCache = new Map();
    this.#aggregated = new Map();
    const byNamespace = new Map<string, Binding[]>();
    for (const b of this.#roleBindings.values()) {
      let list = byNamespace.get(b.namespace);
      if (list === undefined) byNamespace.set(b.namespace, (list = []));
      list.push(b);
    }
    this.#byNamespace = byNamespace;
  }
}
