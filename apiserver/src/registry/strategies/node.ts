// Nodes: a Node may be created with its status.

import type { Strategy } from '../strategy.js';

/** As Kubernetes' node strategy: a Node may be created with its status (kubelet registers in one call). */
export const nodeStrategy: Strategy = { statusOnCreate: true };
