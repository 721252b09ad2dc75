// Kubernetes' CEL regex library on RE2 (as `matches` is): find and findAll.

import { CelScalar, celMethod, listType, type CelFunc } from '@bufbuild/cel';
import { compileRe2 } from '../../regex.js';

function findAll(s: string, pattern: string, limit: number): string[] {
  const m = compileRe2(pattern).matcher(s);
  const out: string[] = [];
  while ((limit < 0 || out.length < limit) && m.find()) out.push(m.group() ?? '');
  return out;
}

export const regexLibrary: CelFunc[] = [
  celMethod('find', CelScalar.STRING, [CelScalar.STRING], CelScalar.STRING, function (pattern) {
    return findAll(this, pattern, 1)[0] ?? '';
  }),
  celMethod('findAll', CelScalar.STRING, [CelScalar.STRING], listType(CelScalar.STRING), function (pattern) {
    return findAll(this, pattern, -1);
  }),
  celMethod(
    'findAll',
    CelScalar.STRING,
    [CelScalar.STRING, CelScalar.INT],
    listType(CelScalar.STRING),
    function (pattern, n) {
      return findAll(this, pattern, Number(n));
    },
  ),
];
