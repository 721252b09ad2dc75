// What an authorizer decides on (Kubernetes' authorizer.Attributes): who, which verb, and either a resource
// (group, resource, subresource, namespace, name) or a non-resource path. Built once from a request's info, or by
// hand for an access review.

import { parseFieldSelector, requiredFieldValue } from '@berth/api';
import type { UserInfo } from '../authentication/authenticator.js';
import type { RequestInfo } from '../request-chain/request-info.js';

export interface Attributes {
  readonly user: UserInfo;
  readonly verb: string;
  readonly resourceRequest: boolean;
  /** '' at the cluster scope. */
  readonly namespace: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string;
  readonly name: string;
  /** The path of a non-resource request. */
  readonly path: string;
}

/** A request's attributes; a list or watch narrowed to one name by `metadata.name=` is about that name, as in Kubernetes. */
export function attributesOf(user: UserInfo, info: RequestInfo): Attributes {
  const r = info.resource;
  if (r === undefined)
    return {
      user,
      verb: info.verb,
      resourceRequest: false,
      namespace: '',
      apiGroup: '',
      resource: '',
      subresource: '',
      name: '',
      path: info.path,
    };
  let name = r.name ?? '';
  if (name === '' && (r.verb === 'list' || r.verb === 'watch')) name = nameFromFieldSelector(info.query) ?? '';
  return {
    user,
    verb: r.verb,
    resourceRequest: true,
    namespace: r.namespace ?? '',
    apiGroup: r.group,
    resource: r.resource,
    subresource: r.subresource ?? '',
    name,
    path: info.path,
  };
}

function nameFromFieldSelector(query: URLSearchParams): string | undefined {
  const selector = query.get('fieldSelector');
  if (selector === null || selector === '') return undefined;
  try {
    return requiredFieldValue(parseFieldSelector(selector), 'metadata.name');
  } catch {
    // A malformed selector is answered by the handler (400); authorization just does not narrow on it.
    return undefined;
  }
}
