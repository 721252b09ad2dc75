// The RBAC authorizer (Kubernetes' rbac.RBACAuthorizer) behind the Authorizer plug point: a request is allowed
// when a rule the user holds in the request's namespace allows it. `system:masters` is always allowed, as
// Kubernetes' privileged-group authorizer runs before RBAC, so the admin cannot lock itself out.

import type { UserInfo } from '../../authentication/authenticator.js';
import type { RequestInfo } from '../../request-chain/request-info.js';
import { attributesOf, type Attributes } from '../attributes.js';
import type { Authorizer, Decision } from '../authorizer.js';
import { ruleAllows } from './policy-rule.js';
import type { RbacIndex } from './rbac-index.js';

export const privilegedGroup = 'system:masters';

const allowed: Decision = { allowed: true };
const denied: Decision = { allowed: false, reason: '' };

export class RbacAuthorizer implements Authorizer {
  constructor(readonly index: RbacIndex) {}

  authorize(user: UserInfo, request: RequestInfo): Decision {
    return this.authorizeAttributes(attributesOf(user, request));
  }

  authorizeAttributes(a: Attributes): Decision {
    if (a.user.groups.includes(privilegedGroup)) return allowed;
    for (const rule of this.index.rulesFor(a.user, a.namespace)) if (ruleAllows(rule, a)) return allowed;
    return denied;
  }
}
