// A Network's status as its controller writes it: the subnet decided, gateway and bridge, the Containers
// attached, and the Ready condition that says why a Network cannot be used.
import {
  defaultGateway,
  networkBridgeName,
  setCondition,
  type Container,
  type Network,
  type NetworkStatus,
  type SubnetPool,
} from '@berth/api';
import { overlapReason, type SubnetDecision } from './subnet-claims.js';

type Member = NonNullable<NetworkStatus['members']>[number];

/** Containers of the Network's namespace with an address on it (status.ips), by name. */
export function membersOf(net: Network, containers: readonly Container[]): Member[] {
  const out: Member[] = [];
  for (const c of containers) {
    if (c.metadata.namespace !== net.metadata.namespace) continue;
    const ip = c.status?.ips?.find((a) => a.network === net.metadata.name)?.ip;
    if (ip === undefined) continue;
    out.push({
      name: c.metadata.name ?? '',
      ip,
      ...(c.spec.nodeName !== undefined && c.spec.nodeName !== '' ? { nodeName: c.spec.nodeName } : {}),
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Containers of the Network's namespace that name it in spec.networks: a deletion waits for them. */
export function usersOf(net: Network, containers: readonly Container[]): string[] {
  return containers
    .filter(
      (c) =>
        c.metadata.namespace === net.metadata.namespace &&
        (c.spec.networks ?? []).some((n) => n.name === net.metadata.name),
    )
    .map((c) => c.metadata.name ?? '')
    .sort();
}

const poolText = (pools: readonly SubnetPool[]) => pools.map((p) => `${p.base} (/${p.size} blocks)`).join(', ');

/** The status `net` should have, from the subnet decision and its members. */
export function desiredStatus(
  net: Network,
  decision: SubnetDecision,
  members: Member[],
  users: string[],
  pools: readonly SubnetPool[],
  now: Date = new Date(),
): NetworkStatus {
  const spec = net.spec ?? {};
  const generation = net.metadata.generation;
  const base: NetworkStatus = {
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    bridgeName: spec.bridgeName ?? networkBridgeName(net.metadata.namespace ?? '', net.metadata.name ?? ''),
    memberCount: members.length,
    members,
    usedBy: users,
  };
  let ready: { status: 'True' | 'False'; reason: string; message: string };
  let status: NetworkStatus;
  if (decision.kind === 'assigned') {
    const gateway = spec.gateway ?? defaultGateway(decision.subnet) ?? '';
    status = { ...base, phase: 'Ready', subnet: decision.subnet, gateway };
    ready = {
      status: 'True',
      reason: decision.allocated ? 'SubnetAllocated' : 'SubnetAssigned',
      message: `subnet ${decision.subnet}${decision.allocated ? ' (from the pool)' : ''}, gateway ${gateway}, bridge ${base.bridgeName}`,
    };
  } else if (decision.kind === 'overlap') {
    status = { ...base, phase: 'Failed' };
    ready = {
      status: 'False',
      reason: overlapReason,
      message: `Pool overlaps with other one on this address space: ${decision.subnet} overlaps ${decision.other}`,
    };
  } else {
    status = { ...base, phase: 'Pending' };
    ready = {
      status: 'False',
      reason: 'PoolExhausted',
      message: `no free subnet left in the pools ${poolText(pools)}`,
    };
  }
  // An allocated subnet pinned by its members stays recorded (their addresses are in it); new members wait.
  if (decision.kind === 'overlap' && spec.subnet === undefined) status.subnet = decision.subnet;
  status.message = ready.message;
  const { conditions } = setCondition(
    net.status?.conditions,
    { type: 'Ready', ...ready, ...(generation !== undefined ? { observedGeneration: generation } : {}) },
    now,
  );
  status.conditions = conditions;
  return status;
}
