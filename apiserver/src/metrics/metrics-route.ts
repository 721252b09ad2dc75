// GET /metrics: the server's registry in Prometheus text format. It is a non-resource path, so the request chain
// authorizes it as Kubernetes does (RBAC `nonResourceURLs: [/metrics]`, granted by `system:monitoring`).

import type { Route } from '../request-chain/router.js';
import type { ApiServerMetrics } from './api-metrics.js';

export const metricsRoute = (metrics: ApiServerMetrics): Route => ({
  methods: ['GET', 'HEAD'],
  path: '/metrics',
  handle: async () => ({
    status: 200,
    type: metrics.registry.contentType,
    body: await metrics.registry.metrics(),
  }),
});
