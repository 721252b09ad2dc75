// The network controller: the one writer of every Network's status, cluster-wide, as Docker's IPAM is the one
// allocator of its address space. It allocates a subnet from the pools to a Network that names none (status.subnet,
// written with optimistic concurrency by a single worker, so no two Networks are handed one block), marks a Network
// whose subnet overlaps an established one Ready=False (SubnetOverlap) with a Warning Event, lists the Containers
// attached (status.members), and holds deletion with the `berth.dev/network-protection` finalizer until no
// Container names the Network. Node agents read status to build bridges; they never write it (a node sees only its
// own Containers, the address space is the cluster's).
import type { Container, Network, NetworkStatus, SubnetPool } from '@berth/api';
import { parseIpv4Cidr } from '@berth/api';
import {
  resources,
  InvalidOptionError,
  isNotFound,
  newControllerManagedBy,
  type Controller,
  type EventRecorder,
  type Manager,
  type ReconcileContext,
  type Request,
  type Result,
  type SharedInformer,
} from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import { desiredStatus, membersOf, usersOf } from './network-status.js';
import { nodeSlices, pickVni, tunnelAddressAnnotation } from './node-slices.js';
import { decideSubnet, type SubnetDecision } from './subnet-claims.js';

/** Held by every Network until no Container names it (as Volumes hold `berth.dev/volume-protection`). */
export const networkFinalizer = 'berth.dev/network-protection';

export interface NetworkControllerOptions {
  /**
   * Where subnets of Networks that name none come from. @default [{ base: '10.214.0.0/16', size: 22 }] (beside the
   * default network's 10.212.0.0/16, clear of Podman's 10.88/16 and 10.89/16 and Docker's 172.17/16): 64 Networks,
   * each a /24 per node for four nodes (node-slices.ts), so a node holds 253 members of one, as a /24 did unsliced
   */
  readonly pools?: readonly SubnetPool[];
  /** Address space no Network may take: the node agents' default network. @default ['10.212.0.0/16'] */
  readonly reservedSubnets?: readonly string[];
}

const { networks, containers, nodes } = resources;

function checkOptions(pools: readonly SubnetPool[], reserved: readonly string[]): void {
  for (const p of pools) {
    const base = parseIpv4Cidr(p.base);
    if (base === undefined || !Number.isInteger(p.size) || p.size < base.prefixLength || p.size > 30)
      throw new InvalidOptionError(
        `pools: ${JSON.stringify(p)} needs base an IPv4 CIDR and size a prefix length from its own to 30`,
      );
  }
  for (const r of reserved)
    if (parseIpv4Cidr(r) === undefined) throw new InvalidOptionError(`reservedSubnets: ${r} is not an IPv4 CIDR`);
}

/** JSON with object keys sorted: the server's copy need not keep the order this controller wrote. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );

const keyOf = (o: KubernetesObject): Request => ({
  namespace: o.metadata?.namespace ?? '',
  name: o.metadata?.name ?? '',
});

/** Adds the network controller to `mgr`. */
export async function addNetworkController(mgr: Manager, options: NetworkControllerOptions = {}): Promise<Controller> {
  const pools = options.pools ?? [{ base: '10.214.0.0/16', size: 22 }];
  const reserved = options.reservedSubnets ?? ['10.212.0.0/16'];
  checkOptions(pools, reserved);
  const netCache = (await mgr.cache.informerFor<KubernetesObject>(networks)) as unknown as SharedInformer<
    Network & KubernetesObject
  >;
  const containerCache = (await mgr.cache.informerFor<KubernetesObject>(containers)) as unknown as SharedInformer<
    Container & KubernetesObject
  >;
  const nodeCache = await mgr.cache.informerFor<KubernetesObject>(nodes);
  const recorder = mgr.eventRecorder('network-controller');
  const reconciler = new NetworkReconciler(mgr, netCache, containerCache, nodeCache, recorder, pools, reserved);
  return (
    newControllerManagedBy(mgr)
      .for(networks)
      // A Container joining or leaving changes its Networks' members, and may let a deletion finish.
      .watches<KubernetesObject>(containers, (obj) =>
        ((obj as unknown as Container).spec?.networks ?? []).map((n) => ({
          namespace: obj.metadata?.namespace ?? '',
          name: n.name,
        })),
      )
      // A node's tunnel address goes into the slices of every Network (few): its peers' FDB entries follow it.
      .watches<KubernetesObject>(nodes, () => netCache.list().map(keyOf))
      // Address space freed or taken elsewhere can settle a Network that is not Ready.
      .watches<KubernetesObject>(networks, () =>
        netCache
          .list()
          .filter((n) => n.status?.phase !== 'Ready')
          .map(keyOf),
      )
      .named('network')
      // One worker: allocations happen one at a time, each reading the others' latest claims.
      .withOptions({ workers: 1, baseDelayMs: 100, maxDelayMs: 30_000, log: mgr.log })
      .complete((ctx, req) => reconciler.reconcile(ctx, req))
  );
}

class NetworkReconciler {
  constructor(
    readonly mgr: Manager,
    readonly cache: SharedInformer<Network & KubernetesObject>,
    readonly containers: SharedInformer<Container & KubernetesObject>,
    readonly nodes: SharedInformer<KubernetesObject>,
    readonly recorder: EventRecorder,
    readonly pools: readonly SubnetPool[],
    readonly reserved: readonly string[],
  ) {}

  async reconcile(ctx: ReconcileContext, req: Request): Promise<Result | void> {
    const net = this.cache.get(req.namespace, req.name);
    if (net === undefined) return;
    const all = this.containers.list();
    const users = usersOf(net, all);
    const members = membersOf(net, all);
    const finalizers = net.metadata.finalizers ?? [];
    if (net.metadata.deletionTimestamp !== undefined) {
      if (!finalizers.includes(networkFinalizer)) return;
      if (users.length > 0) {
        const message = `deletion waits until no Container uses the network (used by ${users.join(', ')})`;
        const changed = await this.#writeStatus(
          net,
          { ...net.status, phase: 'Terminating', message, usedBy: users, members, memberCount: members.length },
          ctx.signal,
        );
        if (changed) this.recorder.event(net, 'Normal', 'WaitingForContainers', message);
        return;
      }
      await this.#removeFinalizer(net, ctx.signal);
      return;
    }
    if (!finalizers.includes(networkFinalizer)) {
      await this.#addFinalizer(net, ctx.signal);
      return;
    }
    let decision = decideSubnet(net, this.cache.list(), this.pools, this.reserved, members.length);
    let vni = pickVni(net, this.cache.list());
    const readyWithIt =
      net.status?.subnet === (decision.kind === 'assigned' ? decision.subnet : undefined) &&
      net.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (decision.kind === 'assigned' && (!readyWithIt || net.status?.vni === undefined)) {
      // Before a Network turns Ready with a subnet, the latest claims, not the cache: one this worker just wrote
      // (another Network's Ready, which makes it the established one) may not be in it yet.
      const latest = await this.mgr.client.list<Network & KubernetesObject>(networks, {}, ctx.signal);
      decision = decideSubnet(net, latest.items, this.pools, this.reserved, members.length);
      vni = pickVni(net, latest.items);
    }
    const status = desiredStatus(net, decision, members, users, this.pools);
    if (decision.kind === 'assigned') {
      // Nodes named by a Container of the Network get a slice (before the Container has an address: it waits for it).
      const wanted = new Set<string>();
      for (const c of all)
        if (
          c.metadata.namespace === net.metadata.namespace &&
          (c.spec.networks ?? []).some((n) => n.name === net.metadata.name) &&
          c.spec.nodeName
        )
          wanted.add(c.spec.nodeName);
      const existing = new Set(this.nodes.list().map((n) => n.metadata?.name ?? ''));
      const tunnelOf = (name: string) => this.nodes.get('', name)?.metadata?.annotations?.[tunnelAddressAnnotation];
      status.vni = vni;
      status.nodes = nodeSlices(
        net.spec?.ipRange ?? decision.subnet,
        net.status?.nodes ?? [],
        [...wanted],
        existing,
        tunnelOf,
      );
    }
    const changed = await this.#writeStatus(net, status, ctx.signal);
    if (changed) this.#announce(net, decision, status);
  }

  #announce(net: Network & KubernetesObject, decision: SubnetDecision, status: NetworkStatus): void {
    const was = net.status?.conditions?.find((c) => c.type === 'Ready');
    const now = status.conditions?.find((c) => c.type === 'Ready');
    if (now === undefined || (was?.reason === now.reason && was?.status === now.status && was?.message === now.message))
      return;
    if (decision.kind === 'overlap') this.recorder.event(net, 'Warning', 'SubnetOverlap', now.message ?? '');
    else if (decision.kind === 'exhausted') this.recorder.event(net, 'Warning', 'PoolExhausted', now.message ?? '');
    else if (decision.allocated && net.status?.subnet !== decision.subnet)
      this.recorder.event(net, 'Normal', 'SubnetAllocated', now.message ?? '');
  }

  /** PUT …/status on the copy read (a concurrent write is a 409: retried from the latest). False: nothing to write. */
  async #writeStatus(net: Network & KubernetesObject, status: NetworkStatus, signal: AbortSignal): Promise<boolean> {
    if (canonical(status) === canonical(net.status ?? {})) return false;
    try {
      await this.mgr.client.update(networks, { ...net, status }, { subresource: 'status', signal });
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
    return true;
  }

  async #addFinalizer(net: Network & KubernetesObject, signal: AbortSignal): Promise<void> {
    await this.mgr.client.patch(
      networks,
      net.metadata.namespace,
      net.metadata.name ?? '',
      [
        { op: 'test', path: '/metadata/resourceVersion', value: net.metadata.resourceVersion },
        net.metadata.finalizers === undefined
          ? { op: 'add', path: '/metadata/finalizers', value: [networkFinalizer] }
          : { op: 'add', path: '/metadata/finalizers/-', value: networkFinalizer },
      ],
      { type: 'json', signal },
    );
  }

  async #removeFinalizer(net: Network & KubernetesObject, signal: AbortSignal): Promise<void> {
    const at = (net.metadata.finalizers ?? []).indexOf(networkFinalizer);
    try {
      await this.mgr.client.patch(
        networks,
        net.metadata.namespace,
        net.metadata.name ?? '',
        [
          { op: 'test', path: '/metadata/uid', value: net.metadata.uid },
          { op: 'test', path: `/metadata/finalizers/${at}`, value: networkFinalizer },
          { op: 'remove', path: `/metadata/finalizers/${at}` },
        ],
        { type: 'json', signal },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
