// One test process for the Kubernetes API conventions against real API servers (admission, the API surface, bad input,
// built-in tables, delete propagation, logging, namespace protection, patch concurrency, the request chain, server
// close, subresource verbs, unclean paths): each *.subtests.ts module registers its tests on tap's root as a test file
// would. Every test process costs seconds of CPU before its first assertion (tap's loader hooks see each of its ~1,400
// modules), so small files share one. A module imported here still runs alone: `npx tap FILE.subtests.ts`.
import './admission.subtests.js';
import './api-surface.subtests.js';
import './bad-input.subtests.js';
import './builtin-tables.subtests.js';
import './delete-propagation.subtests.js';
import './logging.subtests.js';
import './namespace-protection.subtests.js';
import './patch-concurrency.subtests.js';
import './request-chain.subtests.js';
import './server-close.subtests.js';
import './subresource-verbs.subtests.js';
import './unclean-paths.subtests.js';
