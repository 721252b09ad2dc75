// berth runs Containers, not Pods, and serves no `pods`. Clients written for Kubernetes that ask for Pods behind
// the user's back (`kubectl describe node` lists the node's pods) handle Forbidden by leaving the Pods out, but
// abort on NotFound: answer them Forbidden, saying why. Discovery still lists no pods, so `kubectl get pods`
// says the server has no such resource type.

import { ApiError } from '../errors/api-error.js';

/** The error for a request to the core group's `pods`, or undefined for every other resource. */
export function unservedPods(group: string, plural: string): ApiError | undefined {
  if (group !== '' || plural !== 'pods') return undefined;
  return new ApiError('Forbidden', 'pods is forbidden: berth runs Containers (containers.berth.dev), not Pods', {
    kind: 'pods',
  });
}
