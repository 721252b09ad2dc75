// One test process for @berth/api's object helpers (conditions, errors, field errors and selectors, labels, names,
// platforms, quantities): each *.subtests.ts module registers its tests on tap's root as a test file would. Every test
// process costs seconds of CPU before its first assertion (tap's loader hooks see each of its ~1,400 modules), so small
// files share one. A module imported here still runs alone: `npx tap FILE.subtests.ts`.
import './conditions.subtests.js';
import './errors.subtests.js';
import './field-errors.subtests.js';
import './field-selector.subtests.js';
import './label-selector.subtests.js';
import './labels.subtests.js';
import './names.subtests.js';
import './platform.subtests.js';
import './quantity.subtests.js';
