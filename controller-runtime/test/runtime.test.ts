// One test process for the controller runtime (API client, builder, controller, events, handlers, informer, work
// queue): each *.subtests.ts module registers its tests on tap's root as a test file would. Every test process costs
// seconds of CPU before its first assertion (tap's loader hooks see each of its ~1,400 modules), so small files share
// one. A module imported here still runs alone: `npx tap FILE.subtests.ts`.
import './api-client.subtests.js';
import './builder.subtests.js';
import './controller.subtests.js';
import './events.subtests.js';
import './handler.subtests.js';
import './informer.subtests.js';
import './informer-backoff.subtests.js';
import './workqueue.subtests.js';
