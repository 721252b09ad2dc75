// The review kinds (SelfSubjectAccessReview, TokenReview…): questions a client creates and the server answers.

import type { Strategy } from '../strategy.js';

export const reviewStrategy: Strategy = { createOnly: true, deleteCollection: false };
