// reconcile(ctx, req): keeps this node's part of a user Network as the Network says. Its name server follows
// spec.dns and spec.dnsUpstreams; once the Network is gone from the cluster (or replaced by one with another bridge
// or subnet) and no container here is attached to it, its bridge, leases and name server are removed.
// Level-triggered from what is on disk (the networks attach recorded) and the Network informer's cache; Network
// changes, Container deletions and the agent's start enqueue the networks to look at.
import type { Network } from '@berth/api';
import type { ReconcileContext, Reconciler, Request, Result } from '@berth/controller-runtime';
import type { ObjectCache } from '../cluster/mutation-cache.js';
import type { NetworkDns } from './dns-server.js';
import type { NetworkDefinition, Networks } from './network.js';
import { definitionOf, gatewayOf } from './user-networks.js';

export interface NetworkReconcilerOptions {
  readonly networks: Networks;
  readonly cache: ObjectCache<Network>;
  readonly dns?: NetworkDns;
  /** This node: its slice of each Network. */
  readonly nodeName?: string;
  /** How soon to look again while a container here is still attached. @default 2000 */
  readonly inUseRequeueMs?: number;
  readonly log: (message: string, fields: Record<string, unknown>) => void;
}

/** A user Network's id on the node (NetworkDefinition.id), and back. */
export const networkId = (namespace: string, name: string) => `${namespace}_${name}`;
export function networkKey(id: string): Request | undefined {
  const at = id.indexOf('_');
  return at <= 0 ? undefined : { namespace: id.slice(0, at), name: id.slice(at + 1) };
}

export class NetworkReconciler implements Reconciler {
  readonly #o: NetworkReconcilerOptions;

  constructor(options: NetworkReconcilerOptions) {
    this.#o = options;
  }

  async reconcile(_ctx: ReconcileContext, req: Request): Promise<Result> {
    const id = networkId(req.namespace ?? '', req.name);
    const recorded = (await this.#o.networks.networks()).find((n) => n.id === id);
    if (recorded === undefined) return {};
    const net = this.#o.cache.get(req.namespace ?? '', req.name);
    const gateway = gatewayOf({
      name: recorded.name,
      bridge: recorded.bridge,
      subnet: recorded.subnet,
      ...(recorded.gateway !== undefined ? { gateway: recorded.gateway } : {}),
    });
    if (net !== undefined && net.metadata.deletionTimestamp === undefined) {
      let wanted: NetworkDefinition | undefined;
      try {
        wanted = definitionOf(net, this.#o.nodeName);
      } catch {
        // Not runnable now (an overlap, no subnet yet): what exists stays for its members.
        return {};
      }
      if (wanted.bridge === recorded.bridge && wanted.subnet === recorded.subnet) {
        // Nodes came or went: the VXLAN port floods to the ones there are now.
        await this.#o.networks.updateTunnel?.(wanted);
        if (gateway === undefined || this.#o.dns === undefined) return {};
        if (wanted.dns === false) await this.#o.dns.stop(recorded.id, gateway);
        // Only a running server takes new upstreams: the next member's start brings up one not running.
        else if (this.#o.dns.serving(recorded.id, gateway))
          await this.#o.dns.ensure(recorded.id, gateway, wanted.dnsUpstreams ?? []);
        return {};
      }
    }
    if (!(await this.#o.networks.removeNetwork(id))) return { requeueAfterMs: this.#o.inUseRequeueMs ?? 2000 };
    if (gateway !== undefined) await this.#o.dns?.stop(recorded.id, gateway);
    this.#o.log('removed network from this node', { network: id, bridge: recorded.bridge });
    return {};
  }
}
