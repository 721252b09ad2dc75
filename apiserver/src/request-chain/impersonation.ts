// The impersonation step (Kubernetes' WithImpersonation, `kubectl --as`/`--as-group`): a request naming another
// user in Impersonate-* headers is made as that user, once the authenticated user has been allowed to `impersonate`
// each thing it names (users, groups, serviceaccounts, uids). Runs after authentication, before authorization.

import type { IncomingMessage } from 'node:http';
import type { UserInfo } from '../authentication/authenticator.js';
import { authorize, type Authorizer } from '../authorization/authorizer.js';
import { badRequest } from '../errors/api-error.js';
import type { Verb } from '../http/request-info.js';
import type { RequestInfo } from './request-info.js';
import { required, type RequestFilter } from './state.js';

const headerValues = (req: IncomingMessage, name: string): string[] => {
  const raw = req.headersDistinct[name];
  return raw === undefined ? [] : raw.flatMap((v) => v.split(',').map((s) => s.trim())).filter((s) => s !== '');
};

/** A verb no HTTP request has, so not among the request verbs: only authorizers read it. */
const impersonate = 'impersonate' as unknown as Verb;

/** The check Kubernetes makes for one impersonated value: `impersonate` on users, groups, serviceaccounts or uids. */
const impersonateCheck = (resource: string, name: string, namespace?: string): RequestInfo => ({
  method: 'POST',
  path: '',
  query: new URLSearchParams(),
  verb: 'impersonate',
  resource: {
    group: resource === 'uids' ? 'authentication.k8s.io' : '',
    version: 'v1',
    resource,
    name,
    verb: impersonate,
    ...(namespace === undefined ? {} : { namespace }),
  },
});

/**
 * The group everyone of their kind is in, as Kubernetes adds it: system:unauthenticated for system:anonymous,
 * system:authenticated for anyone else, unless the request named one of the two itself.
 */
const everyoneGroup = (user: string, groups: readonly string[]): string[] => {
  if (user === 'system:anonymous') return groups.includes('system:unauthenticated') ? [] : ['system:unauthenticated'];
  return groups.includes('system:authenticated') || groups.includes('system:unauthenticated')
    ? []
    : ['system:authenticated'];
};

export const impersonation =
  (authorizer: Authorizer): RequestFilter =>
  async (req, state) => {
    // Most requests name no one: skip building headersDistinct (a copy of every header) for them.
    const h = req.headers;
    if (
      h['impersonate-user'] === undefined &&
      h['impersonate-group'] === undefined &&
      h['impersonate-uid'] === undefined
    )
      return;
    const user = headerValues(req, 'impersonate-user')[0];
    const groups = headerValues(req, 'impersonate-group');
    const uid = headerValues(req, 'impersonate-uid')[0];
    if (user === undefined) {
      if (groups.length > 0 || uid !== undefined)
        throw badRequest('requested impersonation of groups or a uid without impersonating a user');
      return;
    }
    const actor = required(state, 'user');
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(user);
    await authorize(
      authorizer,
      actor,
      sa === null ? impersonateCheck('users', user) : impersonateCheck('serviceaccounts', sa[2]!, sa[1]!),
    );
    for (const g of groups) await authorize(authorizer, actor, impersonateCheck('groups', g));
    if (uid !== undefined) await authorize(authorizer, actor, impersonateCheck('uids', uid));
    const impliedGroups = sa === null ? [] : ['system:serviceaccounts', `system:serviceaccounts:${sa[1]!}`];
    const impersonated: UserInfo = {
      name: user,
      groups: [...new Set([...groups, ...impliedGroups, ...everyoneGroup(user, groups)])],
      ...(uid === undefined ? {} : { uid }),
    };
    state.impersonatedBy = actor;
    state.user = impersonated;
  };
