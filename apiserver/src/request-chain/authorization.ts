// The authorization step: asks the authorizer (a pass-through until RBAC) whether the authenticated user may
// make this request; a refusal is a 403 before any handler runs.

import { authorize, type Authorizer } from '../authorization/authorizer.js';
import { required, type RequestFilter } from './state.js';

export const authorization =
  (authorizer: Authorizer): RequestFilter =>
  (_req, state) =>
    authorize(authorizer, required(state, 'user'), required(state, 'requestInfo'));
