// A request on Pods is decided as the request on the Container it reaches (a Pod is a view of one): who may get,
// exec into or delete a Container may do the same to its Pod, and no one gains a way around a Container's RBAC.
// An eviction is the Container's delete.

import type { Attributes } from '../authorization/attributes.js';
import type { RequestInfo } from '../request-chain/request-info.js';

export const containerGroup = 'berth.dev';
export const containerPlural = 'containers';

/** The request an authorizer decides for `info`: the Container's for a Pods request, else `info` itself. */
export function asContainerRequest(info: RequestInfo): RequestInfo {
  const r = info.resource;
  if (r === undefined || r.group !== '' || r.resource !== 'pods') return info;
  const { subresource, ...rest } = r;
  const eviction = subresource === 'eviction';
  const resource = {
    ...rest,
    group: containerGroup,
    version: 'v1alpha1',
    resource: containerPlural,
    ...(eviction ? { verb: 'delete' as const } : subresource === undefined ? {} : { subresource }),
  };
  return { ...info, resource, verb: resource.verb };
}

/** The same mapping for an access review's attributes (`kubectl auth can-i exec pods` asks about the Container). */
export function asContainerAttributes(a: Attributes): Attributes {
  if (!a.resourceRequest || a.apiGroup !== '' || a.resource !== 'pods') return a;
  const eviction = a.subresource === 'eviction';
  return {
    ...a,
    apiGroup: containerGroup,
    resource: containerPlural,
    ...(eviction ? { verb: 'delete', subresource: '' } : {}),
  };
}
