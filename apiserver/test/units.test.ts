// One test process for the API server's modules tested without a server (Status tables, Event TTLs, field ownership,
// deletion, the three patch types, the Pod projection, RBAC rules, status strategies, the router, tables, watches,
// options, the watch cache, metrics series): each *.subtests.ts module registers its tests on tap's root as a test file
// would. Every test process costs seconds of CPU before its first assertion (tap's loader hooks see each of its ~1,400
// modules), so small files share one. A module imported here still runs alone: `npx tap FILE.subtests.ts`.
import './errors/status-table.subtests.js';
import './security/watch-seats.subtests.js';
import './security/node-graph.subtests.js';
import './event-ttl.subtests.js';
import './field-ownership/apply.subtests.js';
import './field-ownership/fields-v1.subtests.js';
import './objects/deletion.subtests.js';
import './patch/json-patch.subtests.js';
import './patch/merge-patch.subtests.js';
import './patch/strategic-merge.subtests.js';
import './pod-view/pod-projection.subtests.js';
import './rbac/policy-rule.subtests.js';
import './registry/status-strategy.subtests.js';
import './request-chain/router.subtests.js';
import './table.subtests.js';
import './watch/aborted-watch.subtests.js';
import './server-options.subtests.js';
import './storage/watch-cache.subtests.js';
import './metrics/fast-series.subtests.js';
