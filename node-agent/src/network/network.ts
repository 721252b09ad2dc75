// The container networking contract: what the agent asks of it, in the agent's words, with no CNI in sight.
//
// Lifecycle of one container's networking, keyed by the container's runtime id:
//
//   sandbox(id)                      makes the network namespace (bind-mounted under the node's run dir, so it
//                                    outlives any one process) and returns its path. Quick (one spawn): the
//                                    runtime can create the container in it while attach runs.
//   attach(id, { networks, ports })  makes the namespace if sandbox did not, connects it to each network (a veth on that
//                                    network's bridge, an address from its IPAM), publishes the ports, and
//                                    records all of it on disk. The runtime then runs the container in `netns`.
//                                    Calling it again for an attached id returns the same attachment (a container
//                                    restarted by its restartPolicy keeps its address, as a Pod's sandbox does).
//                                    A failure undoes whatever this call made: no veth, lease, rule or mount left.
//   get(id)                          the recorded attachment (after an agent restart, too).
//   detach(id)                       removes port rules, releases the addresses, deletes the veths and the
//                                    namespace. Nothing attached is fine.
//   list()                           every id with a record or a namespace: the agent detaches the ones whose
//                                    Container is gone (leftovers of a crash or of a forced delete).
//   networks()                       the networks attach set up on this node (recorded before their bridge existed).
//   removeNetwork(netId)             deletes a network's bridge and leases once no attachment uses it (false while one
//                                    does): the agent calls it when the Network is gone from the cluster.

/** A bridge network on this node. */
export interface NetworkDefinition {
  /** The network's name as users know it (a Container's status.ips[].network). */
  readonly name: string;
  /** Unique on the node: CNI's network name and host-local's lease folder. @default name */
  readonly id?: string;
  /** Linux bridge device, at most 15 characters. */
  readonly bridge: string;
  /** IPv4 CIDR the addresses come from. */
  readonly subnet: string;
  /** @default the subnet's first address */
  readonly gateway?: string;
  /** Sub-range (CIDR) of the subnet to allocate from. @default the whole subnet */
  readonly ipRange?: string;
  /** @default the kernel's (1500) */
  readonly mtu?: number;
  /** No default route for members and nothing forwarded in or out of the bridge (Docker's --internal). @default false */
  readonly internal?: boolean;
  /** Masquerade members' traffic leaving the bridge (the CNI bridge's ipMasq). @default false */
  readonly masquerade?: boolean;
  /** A name server on the gateway. @default true */
  readonly dns?: boolean;
  /** A VXLAN port on the bridge to the other nodes' bridges of the network (its members there are on-link). */
  readonly tunnel?: NetworkTunnel;
  /** Where that name server forwards names it does not know ("ip" or "ip:port"). @default [] (NXDOMAIN) */
  readonly dnsUpstreams?: readonly string[];
}

/** One network's VXLAN: its id, this node's underlay address and the other nodes'. */
export interface NetworkTunnel {
  readonly vni: number;
  readonly local: string;
  readonly peers: readonly string[];
}

/** A published port: connections to hostIP:hostPort on the node reach containerPort in the container. */
export interface PortMapping {
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp';
  /** A node address; 0.0.0.0 means all of them. */
  readonly hostIP: string;
}

export interface AttachRequest {
  /** In order: the first gets eth0. At least one. */
  readonly networks: readonly NetworkDefinition[];
  /** Published on the first network. @default [] */
  readonly ports?: readonly PortMapping[];
}

export interface NetworkAddress {
  readonly network: string;
  /** The container's address, without prefix length. */
  readonly ip: string;
  readonly gateway: string | undefined;
  /** The interface inside the container (eth0, eth1, …). */
  readonly interface: string;
}

export interface Attachment {
  readonly id: string;
  /** Path of the network namespace to run the container in. */
  readonly netns: string;
  readonly addresses: readonly NetworkAddress[];
  readonly ports: readonly PortMapping[];
}

/** A network as attach recorded it on this node. */
export interface RecordedNetwork {
  /** NetworkDefinition.id (or name). */
  readonly id: string;
  readonly name: string;
  readonly bridge: string;
  readonly subnet: string;
  /** The bridge's gateway when it is not the subnet's first address (a node's slice). */
  readonly gateway?: string;
  /** The VXLAN device on the bridge, when the network spans nodes. */
  readonly tunnelDevice?: string;
}

export interface Networks {
  sandbox(id: string): Promise<string>;
  attach(id: string, request: AttachRequest): Promise<Attachment>;
  get(id: string): Promise<Attachment | undefined>;
  detach(id: string): Promise<void>;
  list(): Promise<string[]>;
  networks(): Promise<RecordedNetwork[]>;
  removeNetwork(netId: string): Promise<boolean>;
  /** Brings the VXLAN port of a network already on this node up to date with its peers (no-op when absent). */
  updateTunnel?(net: NetworkDefinition): Promise<void>;
}
