// @berth/node-agent: turns Containers bound to this node into running containers; `startNodeAgent` is the entry point.
export { startNodeAgent, type NodeAgent, type NodeAgentOptions } from './agent/node-agent.js';
export type { BackoffPolicy } from './containers/reconciler.js';
export { AgentError, BackOffError, type AgentErrorCode } from './containers/errors.js';
export { NodeAgentOptionError } from './agent/errors.js';
