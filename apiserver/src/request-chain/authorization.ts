// The authorization step: asks the authorizer whether the authenticated user may make this request; a refusal is a
// 403 before any handler runs. A WebSocket upgrade to exec or attach is a GET, but it starts a session as the
// POST of SPDY does: it must also be allowed to `create` (Kubernetes' AuthorizePodWebsocketUpgradeCreatePermission).

import { authorize, type Authorizer } from '../authorization/authorizer.js';
import { asContainerRequest } from '../pod-view/pod-authorization.js';
import type { RequestInfo } from './request-info.js';
import { required, type RequestFilter } from './state.js';

const sessionSubresources = new Set(['exec', 'attach', 'portforward']);

export const authorization =
  (authorizer: Authorizer): RequestFilter =>
  async (req, state) => {
    const user = required(state, 'user');
    const info = asContainerRequest(required(state, 'requestInfo'));
    await authorize(authorizer, user, info);
    const r = info.resource;
    if (req.headers.upgrade !== undefined && r?.verb === 'get' && sessionSubresources.has(r.subresource ?? '')) {
      const asCreate: RequestInfo = { ...info, verb: 'create', resource: { ...r, verb: 'create' } };
      await authorize(authorizer, user, asCreate);
    }
  };
