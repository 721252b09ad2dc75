// Kinds that are questions (access reviews, SelfSubjectReview, TokenRequest): a create answered by a function of the
// body and the asking user, never stored. Each handler is keyed `group/plural` (`/serviceaccounts/token` for a
// subresource).

import type { UserInfo } from '../authentication/authenticator.js';
import type { KubeObject } from '../objects/object.js';

export interface ReviewContext {
  readonly user: UserInfo;
  /** The namespace of the path, for namespaced questions (LocalSubjectAccessReview, TokenRequest). */
  readonly namespace: string | undefined;
  /** The object of a subresource question (the ServiceAccount of a TokenRequest). */
  readonly name: string | undefined;
  readonly signal: AbortSignal;
}

export type ReviewHandler = (body: KubeObject, context: ReviewContext) => KubeObject | Promise<KubeObject>;

export type Reviews = ReadonlyMap<string, ReviewHandler>;
