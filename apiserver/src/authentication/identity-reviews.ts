// The authentication questions (authentication.k8s.io/v1): who am I (SelfSubjectReview, `kubectl auth whoami`) and
// whom does this token stand for (TokenReview, for components that accept the server's tokens).

import type { ReviewHandler } from '../handlers/reviews.js';
import { isPlainObject, type KubeObject } from '../objects/object.js';
import type { Authenticator, UserInfo } from './authenticator.js';

const apiVersion = 'authentication.k8s.io/v1';

const userInfo = (user: UserInfo) => ({
  username: user.name,
  ...(user.uid === undefined ? {} : { uid: user.uid }),
  groups: user.groups,
  ...(user.extra === undefined ? {} : { extra: user.extra }),
});

const answer = (kind: string, body: KubeObject, fields: Record<string, unknown>): KubeObject =>
  ({ apiVersion, kind, metadata: { ...body.metadata, creationTimestamp: null }, ...fields }) as unknown as KubeObject;

export function identityReviews(authenticator: Authenticator): ReadonlyMap<string, ReviewHandler> {
  return new Map<string, ReviewHandler>([
    [
      'authentication.k8s.io/selfsubjectreviews',
      (body, { user }) => answer('SelfSubjectReview', body, { status: { userInfo: userInfo(user) } }),
    ],
    [
      'authentication.k8s.io/tokenreviews',
      async (body) => {
        const spec = isPlainObject(body['spec']) ? body['spec'] : {};
        const token = typeof spec['token'] === 'string' ? spec['token'] : '';
        const user = token === '' ? undefined : await authenticator.authenticateToken(token);
        return answer('TokenReview', body, {
          spec,
          status:
            user === undefined
              ? { authenticated: false, user: {}, error: 'invalid bearer token' }
              : { authenticated: true, user: userInfo(user) },
        });
      },
    ],
  ]);
}
