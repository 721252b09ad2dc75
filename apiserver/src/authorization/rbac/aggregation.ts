// ClusterRole aggregation (kube-controller-manager's clusterrole-aggregation controller, kept in the server beside
// the RBAC index, which writes as the server itself and so needs no `escalate` grant): a ClusterRole with an
// aggregationRule gets the rules of every ClusterRole its selectors match written into its own `rules`, so
// `kubectl get clusterrole view -o yaml` shows what `view` allows. Chains (view → edit → admin) settle as each
// write is seen again.

import { labelSelectorFromMeta, matchesLabels, type LabelSelector } from '@berth/api';
import type { Logger } from '../../logging/logger.js';
import { noChange, type ObjectStore } from '../../objects/object-store.js';
import { jsonEqual, type KubeObject } from '../../objects/object.js';
import type { Resource } from '../../registry/resource.js';
import { follow, type Follower } from '../../storage/follow.js';
import type { Store } from '../../storage/interface.js';
import type { WatchSource } from '../../watch/watch-stream.js';

const prefix = '/registry/rbac.authorization.k8s.io/clusterroles/';

const selectorsOf = (role: KubeObject) => {
  const rule = role['aggregationRule'] as { clusterRoleSelectors?: unknown } | undefined;
  if (!Array.isArray(rule?.clusterRoleSelectors)) return undefined;
  return rule.clusterRoleSelectors.flatMap((s) => {
    try {
      const parsed = labelSelectorFromMeta(s as LabelSelector);
      return parsed === null ? [] : [parsed];
    } catch {
      return [];
    }
  });
};

/** The rules `role` aggregates from `roles`, each once, in the order of the roles' names. */
export function aggregatedRules(role: KubeObject, roles: ReadonlyMap<string, KubeObject>): unknown[] | undefined {
  const selectors = selectorsOf(role);
  if (selectors === undefined) return undefined;
  const rules: unknown[] = [];
  for (const name of [...roles.keys()].sort()) {
    const other = roles.get(name)!;
    if (name === role.metadata.name) continue;
    if (!selectors.some((s) => matchesLabels(s, other.metadata.labels ?? {}))) continue;
    for (const r of Array.isArray(other['rules']) ? (other['rules'] as unknown[]) : [])
      if (!rules.some((have) => jsonEqual(have, r))) rules.push(r);
  }
  return rules;
}

export class ClusterRoleAggregation {
  readonly #roles = new Map<string, KubeObject>();
  #follower: Follower | undefined;
  /** One pass at a time; a change during a pass asks for one more. */
  #running: Promise<void> = Promise.resolve();
  #again = false;
  #pending = false;

  constructor(
    private readonly objects: ObjectStore,
    private readonly clusterRoles: Resource,
    private readonly log: Logger,
  ) {}

  async start(store: Store, source: WatchSource): Promise<void> {
    this.#follower = follow(
      store,
      source,
      prefix,
      {
        list: async (items) => {
          this.#roles.clear();
          for (const i of items) this.#put(i.value);
          this.#schedule();
        },
        event: async (e) => {
          if (e.type === 'DELETE') this.#roles.delete(e.key.slice(prefix.length));
          else if (e.value !== undefined) this.#put(e.value);
          this.#schedule();
        },
      },
      'ClusterRole aggregation',
      this.log,
    );
    await this.#follower.ready;
    await this.#running;
  }

  async close(): Promise<void> {
    await this.#follower?.close();
    await this.#running.catch(() => undefined);
  }

  #put(value: string): void {
    const obj = JSON.parse(value) as KubeObject;
    this.#roles.set(obj.metadata.name ?? '', obj);
  }

  #schedule(): void {
    if (this.#pending) {
      this.#again = true;
      return;
    }
    this.#pending = true;
    this.#running = this.#running.then(async () => {
      do {
        this.#again = false;
        await this.#pass().catch((e: unknown) => this.log.warn({ err: e }, 'ClusterRole aggregation failed'));
      } while (this.#again);
      this.#pending = false;
    });
  }

  async #pass(): Promise<void> {
    for (const [name, role] of this.#roles) {
      const desired = aggregatedRules(role, this.#roles);
      if (desired === undefined || jsonEqual(role['rules'] ?? [], desired)) continue;
      await this.objects.update(
        { resource: this.clusterRoles, namespace: undefined },
        name,
        'main',
        (current) => {
          const rules = aggregatedRules(current, this.#roles);
          return rules === undefined || jsonEqual(current['rules'] ?? [], rules) ? noChange : { ...current, rules };
        },
        { dryRun: false, fieldValidation: 'Strict', warnings: [] },
      );
    }
  }
}
