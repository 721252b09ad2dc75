// One test process for the controllers that need no containers (namespace deletion conditions, node fit, rollout plans,
// the gitops controller manager and webhook, image builds, metrics, networks, the scheduler, Service revisions,
// ServiceAccounts): each *.subtests.ts module registers its tests on tap's root as a test file would. Every test
// process costs seconds of CPU before its first assertion (tap's loader hooks see each of its ~1,400 modules), so small
// files share one. A module imported here still runs alone: `npx tap FILE.subtests.ts`.
import './namespace/deletion-conditions.subtests.js';
import './scheduler/node-fit.subtests.js';
import './service/rollout-plan.subtests.js';
import './service/slots.subtests.js';
import './gitops/controller-manager.subtests.js';
import './gitops/webhook.subtests.js';
import './image-build/image-build-controller.subtests.js';
import './metrics/controller-metrics.subtests.js';
import './network/network-controller.subtests.js';
import './network/node-slices.subtests.js';
import './scheduler/scheduler.subtests.js';
import './service/service-revisions.subtests.js';
import './serviceaccount/serviceaccount.subtests.js';
