// One test process for custom resources against a real API server (CEL rules, decoding, Network validation, ratcheting,
// RE2 patterns, schema messages): each *.subtests.ts module registers its tests on tap's root as a test file would.
// Every test process costs seconds of CPU before its first assertion (tap's loader hooks see each of its ~1,400
// modules), so small files share one. A module imported here still runs alone: `npx tap FILE.subtests.ts`.
import './cel-rules.subtests.js';
import './crd-decoding.subtests.js';
import './network-validation.subtests.js';
import './ratcheting.subtests.js';
import './re2-patterns.subtests.js';
import './schema-messages.subtests.js';
