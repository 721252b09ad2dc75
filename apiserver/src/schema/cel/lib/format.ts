// Kubernetes' CEL format library: format.dns1123Label().validate(s) and friends answer optional.none() when
// `s` is valid, or an optional list of the reasons it is not (the same messages as the API's own checks).

import { CelScalar, celFunc, celMethod, type CelFunc } from '@bufbuild/cel';
import { isDNS1035Label, isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from '@berth/api';
import { OPAQUE, opaque, payloadOf } from './opaque.js';
import { optionalOf } from './optional.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const formats: Record<string, (s: string) => string[]> = {
  dns1123Label: isDNS1123Label,
  dns1123Subdomain: isDNS1123Subdomain,
  dns1035Label: isDNS1035Label,
  qualifiedName: isQualifiedName,
  labelValue: isValidLabelValue,
  dns1123LabelPrefix: (s) => isDNS1123Label(s.endsWith('-') ? s.slice(0, -1) : s),
  dns1123SubdomainPrefix: (s) => isDNS1123Subdomain(s.endsWith('-') ? s.slice(0, -1) : s),
  dns1035LabelPrefix: (s) => isDNS1035Label(s.endsWith('-') ? s.slice(0, -1) : s),
  uuid: (s) => (uuid.test(s) ? [] : ['does not match the UUID format']),
  byte: (s) => (/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s) ? [] : ['invalid base64']),
  date: (s) => (/^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(s)) ? [] : ['an RFC3339 date']),
  datetime: (s) => (!Number.isNaN(Date.parse(s)) && /^\d{4}-\d{2}-\d{2}T/.test(s) ? [] : ['an RFC3339 date-time']),
  uri: (s) => (URL.canParse(s) ? [] : ['an URI']),
};

export const formatLibrary: CelFunc[] = [
  ...Object.keys(formats).map((name) => celFunc(`format.${name}`, [], OPAQUE, () => opaque('format', name))),
  celFunc('format.named', [CelScalar.STRING], OPAQUE, (name) =>
    optionalOf(name in formats ? opaque('format', name) : undefined),
  ),
  celMethod('validate', OPAQUE, [CelScalar.STRING], OPAQUE, function (s) {
    const check = formats[String(payloadOf('format', this))]!;
    const problems = check(s);
    return optionalOf(problems.length === 0 ? undefined : problems);
  }),
];
