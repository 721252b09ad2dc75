// Says who is writing on every request the agent makes: a User-Agent, and `fieldManager` on every create, update
// and patch (ApiClient sends both), so managedFields name the agent and kubectl's conflicts say who.

/** The field manager of every write the node agent makes. */
export const fieldManager = 'berth-node-agent';

/** `berth-node-agent/0.1.0 (linux/amd64)`, in the form kubectl's `kubectl/v1.32.0 (linux/amd64)` takes. */
export function userAgent(version: string, os: string, architecture: string): string {
  return `${fieldManager}/${version.replace(/^v/, '')} (${os}/${architecture})`;
}
