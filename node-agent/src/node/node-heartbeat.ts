// Registers this node as a v1 Node and keeps it alive: a coordination.k8s.io/v1 Lease renewed every 10 s.
//
// As kubelet since 1.17: the Lease is the cheap, frequent heartbeat; the Node's status (capacity, nodeInfo,
// the Ready condition's lastHeartbeatTime) is written at start and then only every `statusEveryRenewals` renewals,
// or at the next renewal when the Node no longer says Ready (the node lifecycle controller marked it while the
// agent was away).
import { setCondition, formatTime } from '@berth/api';
import { microTime } from '@berth/controller-runtime';
import { isConflict, isNotFound, type ClusterApi, type LeaseObject, type NodeObject } from '../cluster/cluster-api.js';
import type { NodeCondition, NodeStatus } from './node-info.js';

export const leaseNamespace = 'kube-node-lease';

export interface NodeHeartbeatOptions {
  readonly api: ClusterApi;
  readonly nodeName: string;
  /** Annotations the Node carries (the agent's say: set on start, e.g. berth.dev/tunnel-address). */
  readonly annotations?: Readonly<Record<string, string>>;
  /** Capacity, addresses, nodeInfo, endpoint (from machineStatus). */
  readonly machine: NodeStatus;
  /** @default 10000 */
  readonly renewIntervalMs?: number;
  /** @default 40 */
  readonly leaseDurationSeconds?: number;
  /** Node status is refreshed every this many lease renewals. @default 6 (one minute) */
  readonly statusEveryRenewals?: number;
  readonly onError?: (err: unknown) => void;
}

export class NodeHeartbeat {
  readonly #o: NodeHeartbeatOptions;
  #node: NodeObject | undefined;
  /** The conditions last written (or read at registration). */
  #conditions: NodeCondition[] = [];
  #lease: LeaseObject | undefined;
  #timer: NodeJS.Timeout | undefined;
  #renewals = 0;
  #closed = false;
  #inFlight: Promise<void> = Promise.resolve();

  private constructor(options: NodeHeartbeatOptions) {
    this.#o = options;
  }

  /** Creates or updates the Node and its Lease, then renews the Lease in the background. */
  static async start(options: NodeHeartbeatOptions): Promise<NodeHeartbeat> {
    const hb = new NodeHeartbeat(options);
    await hb.#register();
    await hb.#renewLease();
    hb.#schedule();
    return hb;
  }

  get node(): NodeObject | undefined {
    return this.#node;
  }

  async #register(): Promise<void> {
    const { api, nodeName } = this.#o;
    let node = await api.getNode(nodeName);
    if (node === undefined) {
      try {
        node = await api.createNode({
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name: nodeName,
            ...(this.#o.annotations !== undefined ? { annotations: { ...this.#o.annotations } } : {}),
            labels: {
              'kubernetes.io/hostname': nodeName,
              'kubernetes.io/os': 'linux',
              ...(this.#o.machine.nodeInfo?.architecture !== undefined
                ? { 'kubernetes.io/arch': this.#o.machine.nodeInfo.architecture }
                : {}),
            },
          },
          spec: {},
        });
      } catch (err) {
        if (!isConflict(err)) throw err;
        node = await api.getNode(nodeName);
      }
    }
    const stale = Object.entries(this.#o.annotations ?? {}).some(([k, v]) => node?.metadata?.annotations?.[k] !== v);
    if (node !== undefined && stale) node = await api.patchNodeAnnotations(nodeName, { ...this.#o.annotations });
    this.#node = node;
    this.#conditions = [...(node?.status?.conditions ?? [])];
    await this.#writeStatus();
  }

  async #writeStatus(): Promise<void> {
    const now = new Date();
    const ready: NodeCondition = {
      type: 'Ready',
      status: 'True',
      reason: 'AgentReady',
      message: 'berth node agent is posting ready status',
      lastHeartbeatTime: formatTime(now),
    };
    const { conditions } = setCondition(this.#conditions, ready, now);
    const status: NodeStatus = { ...this.#o.machine, conditions };
    this.#node = await this.#o.api.patchNodeStatus(this.#o.nodeName, status);
    this.#conditions = conditions;
  }

  #leaseBody(): LeaseObject {
    const node = this.#node;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: this.#o.nodeName,
        namespace: leaseNamespace,
        ...(this.#lease?.metadata?.resourceVersion !== undefined
          ? { resourceVersion: this.#lease.metadata.resourceVersion }
          : {}),
        ...(node?.metadata?.uid !== undefined
          ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.#o.nodeName, uid: node.metadata.uid }] }
          : {}),
      },
      spec: {
        holderIdentity: this.#o.nodeName,
        leaseDurationSeconds: this.#o.leaseDurationSeconds ?? 40,
        renewTime: microTime(new Date()),
      },
    };
  }

  async #renewLease(): Promise<void> {
    const { api, nodeName } = this.#o;
    for (let attempt = 0; attempt < 3; attempt++) {
      this.#lease ??= await api.readLease(leaseNamespace, nodeName);
      try {
        this.#lease =
          this.#lease === undefined
            ? await api.createLease(leaseNamespace, this.#leaseBody())
            : await api.replaceLease(leaseNamespace, nodeName, this.#leaseBody());
        return;
      } catch (err) {
        // Someone else wrote it (or it vanished): read it again and retry.
        if (!isConflict(err) && !isNotFound(err)) throw err;
        this.#lease = undefined;
      }
    }
  }

  #schedule(): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#inFlight = this.#beat().finally(() => this.#schedule());
    }, this.#o.renewIntervalMs ?? 10_000);
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    try {
      await this.#renewLease();
      this.#renewals += 1;
      if (this.#renewals % (this.#o.statusEveryRenewals ?? 6) === 0 || (await this.#marked())) {
        try {
          await this.#writeStatus();
        } catch (err) {
          // Someone deleted the Node: register it again, as kubelet does.
          if (!isNotFound(err)) throw err;
          await this.#register();
        }
      }
    } catch (err) {
      this.#o.onError?.(err);
    }
  }

  /**
   * Whether the Node says something other than Ready=True (the node lifecycle controller marked it Unknown while
   * this agent was silent): then the status is posted at once, as kubelet posts a status that differs, instead of
   * waiting for the next periodic write. The conditions read become the base of that write.
   */
  async #marked(): Promise<boolean> {
    const node = await this.#o.api.getNode(this.#o.nodeName);
    if (node === undefined) return false;
    const conditions = [...(node.status?.conditions ?? [])];
    if (conditions.find((c) => c.type === 'Ready')?.status === 'True') return false;
    this.#conditions = conditions;
    return true;
  }

  /** Stops renewing; the Lease then expires on its own, which is how the cluster learns the node is gone. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#inFlight;
  }
}
