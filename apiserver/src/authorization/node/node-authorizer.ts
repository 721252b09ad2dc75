// The node authorizer (Kubernetes' Node authorizer, for what berth's nodes read): a node's identity
// (`system:node:<name>` in `system:nodes`) may get a Secret or ConfigMap only when a Container bound to it names
// that object, and may not list or watch them at all; every other request of a node, and every request of anyone
// else, is the next authorizer's (RBAC's) to decide.

import type { UserInfo } from '../../authentication/authenticator.js';
import { componentIdentities } from '../../bootstrap/rbac-policy.js';
import type { RequestInfo } from '../../request-chain/request-info.js';
import type { Authorizer, Decision } from '../authorizer.js';
import type { NodeGraph, ReferencedKind } from './node-graph.js';

/** The node a user speaks for, undefined when it is no node. */
export function nodeNameOf(user: UserInfo | undefined): string | undefined {
  if (user === undefined || !user.groups.includes(componentIdentities.nodesGroup)) return undefined;
  if (!user.name.startsWith(componentIdentities.nodePrefix)) return undefined;
  const name = user.name.slice(componentIdentities.nodePrefix.length);
  return name === '' ? undefined : name;
}

const guarded = new Set<string>(['secrets', 'configmaps']);

export function nodeAuthorizer(graph: NodeGraph, next: Authorizer): Authorizer {
  return {
    authorize(user: UserInfo, request: RequestInfo): Decision | Promise<Decision> {
      const node = nodeNameOf(user);
      const r = request.resource;
      if (node === undefined || r === undefined || r.group !== '' || !guarded.has(r.resource))
        return next.authorize(user, request);
      if (r.verb !== 'get' || r.name === undefined || r.subresource !== undefined)
        return {
          allowed: false,
          reason: `node '${node}' cannot ${r.verb} ${r.resource}, only get one its Containers use`,
        };
      if (!graph.references(node, r.resource as ReferencedKind, r.namespace ?? '', r.name))
        return { allowed: false, reason: `no relationship found between node '${node}' and this object` };
      return next.authorize(user, request);
    },
  };
}
