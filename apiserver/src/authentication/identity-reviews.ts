// The authentication questions (authentication.k8s.io/v1): who am I (SelfSubjectReview, `kubectl auth whoami`) and
// whom does this token stand for (TokenReview, for components that accept the server's tokens).

import { badRequest } from '../errors/api-error.js';
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
      async (body, { namespace }) => {
        const spec = isPlainObject(body['spec']) ? body['spec'] : {};
        if (namespace !== undefined && namespace !== '') throw badRequest('namespace is not allowed on this type');
        const token = typeof spec['token'] === 'string' ? spec['token'] : '';
        if (token === '') throw badRequest('token is required for TokenReview in authentication');
        const audiences = Array.isArray(spec['audiences'])
          ? spec['audiences'].filter((a): a is string => typeof a === 'string')
          : [];
        const review = await authenticator.reviewToken(token, audiences);
        return answer('TokenReview', body, {
          spec,
          status:
            review === undefined
              ? { authenticated: false, user: {}, error: 'invalid bearer token' }
              : { authenticated: true, user: userInfo(review.user), audiences: review.audiences },
        });
      },
    ],
  ]);
}
