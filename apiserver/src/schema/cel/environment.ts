// The CEL environment of CRD validation rules: the standard library plus Kubernetes' extension libraries
// (strings, lists, sets, regex on RE2, URLs, quantities, IP/CIDR, format, optionals, base64), with `self` and
// `oldSelf`.

import { celEnv, type CelEnv } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { compileRe2 } from '../regex.js';
import { encodersLibrary } from './lib/encoders.js';
import { formatLibrary } from './lib/format.js';
import { ipLibrary } from './lib/ip.js';
import { listsLibrary } from './lib/lists.js';
import { optionalLibrary } from './lib/optional.js';
import { quantityLibrary } from './lib/quantity.js';
import { regexLibrary } from './lib/regex.js';
import { urlLibrary } from './lib/url.js';

export const kubernetesFunctions = [
  ...strings,
  ...listsLibrary,
  ...regexLibrary,
  ...urlLibrary,
  ...quantityLibrary,
  ...ipLibrary,
  ...formatLibrary,
  ...optionalLibrary,
  ...encodersLibrary,
];

/** Names a rule may call: the standard library's and the extensions' (unknown names fail compilation). */
export const knownFunctionNames: ReadonlySet<string> = new Set([
  ...kubernetesFunctions.map((f) => f.name),
  // CEL's standard library and macros, as the parser and planner name them.
  ...[
    'size',
    'int',
    'uint',
    'double',
    'string',
    'bytes',
    'bool',
    'type',
    'dyn',
    'duration',
    'timestamp',
    'matches',
    'contains',
    'startsWith',
    'endsWith',
  ],
  ...['has', 'all', 'exists', 'exists_one', 'map', 'filter'],
  ...[
    'getFullYear',
    'getMonth',
    'getDate',
    'getDayOfMonth',
    'getDayOfWeek',
    'getDayOfYear',
    'getHours',
    'getMinutes',
    'getSeconds',
    'getMilliseconds',
  ],
]);

/** The shared environment (immutable). */
export const validationEnv: CelEnv = celEnv({
  funcs: kubernetesFunctions,
  re2: { compile: (pattern) => compileRe2(pattern) },
});
