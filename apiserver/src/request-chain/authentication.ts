// The authentication step: the request's user (bearer token, ServiceAccount token or client certificate), kept on the request's state
// for authorization, admission and field managers.

import type { Authenticator } from '../authentication/authenticator.js';
import { required, type RequestFilter } from './state.js';

export const authentication =
  (authenticator: Authenticator): RequestFilter =>
  async (req, state) => {
    state.user = await authenticator.authenticate(req, required(state, 'requestInfo').path);
  };
