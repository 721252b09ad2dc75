// Says who is writing on every request the agent makes: a User-Agent, and `fieldManager` on every create, update
// and patch, so managedFields name the agent (not client-node's `node-fetch`) and kubectl's conflicts say who.
import type { Middleware, RequestContext, ResponseContext } from '@kubernetes/client-node';

/** The field manager of every write the node agent makes. */
export const fieldManager = 'berth-node-agent';

/** `berth-node-agent/0.1.0 (linux/amd64)`, in the form kubectl's `kubectl/v1.32.0 (linux/amd64)` takes. */
export function userAgent(version: string, os: string, architecture: string): string {
  return `${fieldManager}/${version.replace(/^v/, '')} (${os}/${architecture})`;
}

const writes: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

/** client-node middleware adding both to each request (a fieldManager already given is kept). */
export function writerIdentity(agent: string): Middleware {
  return {
    async pre(context: RequestContext): Promise<RequestContext> {
      context.setHeaderParam('User-Agent', agent);
      if (writes.has(context.getHttpMethod()) && !new URL(context.getUrl()).searchParams.has('fieldManager')) {
        context.setQueryParam('fieldManager', fieldManager);
      }
      return context;
    },
    async post(context: ResponseContext): Promise<ResponseContext> {
      return context;
    },
  };
}
