// The string formats Kubernetes validates in CRD schemas (apiextensions' supported set, checked as kube-openapi's
// strfmt does); every other format (int32, int64, regex, …) is documentation only, as in Kubernetes.

import { isIP, isIPv4 } from 'node:net';

type Check = (s: string) => boolean;

const uuidOf = (version: string): Check => {
  const v = version === '' ? '[0-9a-f]' : version;
  const variant = version === '' || version === '3' ? '[0-9a-f]' : '[89ab]';
  const re = new RegExp(`^[0-9a-f]{8}-?[0-9a-f]{4}-?${v}[0-9a-f]{3}-?${variant}[0-9a-f]{3}-?[0-9a-f]{12}$`, 'i');
  return (s) => re.test(s);
};

/** Go's net/url.ParseRequestURI: an absolute URI, or an absolute path. */
const requestURI: Check = (s) => {
  if (s.startsWith('/')) return !/\s/.test(s);
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s) && URL.canParse(s);
};

const cidr: Check = (s) => {
  const [addr, len, extra] = s.split('/');
  if (addr === undefined || len === undefined || extra !== undefined || !/^\d{1,3}$/.test(len)) return false;
  return isIP(addr) !== 0 && Number(len) <= (isIPv4(addr) ? 32 : 128);
};

const durationUnits = new Set([
  'ns',
  'nano',
  'nanos',
  'nanosecond',
  'nanoseconds',
  'us',
  'µs',
  'micro',
  'micros',
  'microsecond',
  'microseconds',
  'ms',
  'milli',
  'millis',
  'millisecond',
  'milliseconds',
  's',
  'sec',
  'secs',
  'second',
  'seconds',
  'm',
  'min',
  'mins',
  'minute',
  'minutes',
  'h',
  'hr',
  'hour',
  'hours',
  'd',
  'day',
  'days',
  'w',
  'wk',
  'week',
  'weeks',
]);

/** strfmt's duration: Go's time.ParseDuration, or numbers with unit names (`3 days`, `1w`). */
const duration: Check = (s) => {
  if (/^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h))+$/.test(s) || s === '0') return true;
  const parts = [...s.matchAll(/(\d+)\s*([A-Za-zµ]+)/g)];
  return (
    parts.length > 0 &&
    parts.every((p) => durationUnits.has(p[2]!.toLowerCase())) &&
    s.replace(/(\d+)\s*([A-Za-zµ]+)/g, '').trim() === ''
  );
};

const date: Check = (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));
/** strfmt's date-time layouts: RFC 3339 with or without seconds, fraction, zone (Z, ±07:00, ±0700). */
const dateTime: Check = (s) =>
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(s) &&
  !Number.isNaN(Date.parse(s.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')));

const isbn10: Check = (s) => {
  const d = s.replace(/[\s-]/g, '');
  if (!/^\d{9}[\dX]$/.test(d)) return false;
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += (d[i] === 'X' ? 10 : Number(d[i])) * (10 - i);
  return sum % 11 === 0;
};
const isbn13: Check = (s) => {
  const d = s.replace(/[\s-]/g, '');
  if (!/^\d{13}$/.test(d)) return false;
  let sum = 0;
  for (let i = 0; i < 13; i++) sum += Number(d[i]) * (i % 2 === 0 ? 1 : 3);
  return sum % 10 === 0;
};

/** Format name (as Kubernetes normalizes it: dashes removed) → check. */
const formats: Record<string, Check> = {
  bsonobjectid: (s) => /^[0-9a-fA-F]{24}$/.test(s),
  uri: requestURI,
  email: (s) => /^[^\s@<>]+@[^\s@<>]+$/.test(s) || /^[^<>]*<[^\s@<>]+@[^\s@<>]+>$/.test(s),
  hostname: (s) =>
    s.length <= 255 &&
    /^[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*\.?$/.test(s),
  ipv4: (s) => isIP(s) !== 0,
  ipv6: (s) => isIP(s) !== 0,
  cidr,
  mac: (s) =>
    /^([0-9A-Fa-f]{2}([:-])){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{2}([:-])){7}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{2}([:-])){19}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2,9}[0-9A-Fa-f]{4}$/.test(
      s,
    ),
  uuid: uuidOf(''),
  uuid3: uuidOf('3'),
  uuid4: uuidOf('4'),
  uuid5: uuidOf('5'),
  isbn: (s) => isbn10(s) || isbn13(s),
  isbn10,
  isbn13,
  creditcard: (s) =>
    /^(?:4[0-9]{12}(?:[0-9]{3})?|5[1-5][0-9]{14}|6(?:011|5[0-9][0-9])[0-9]{12}|3[47][0-9]{13}|3(?:0[0-5]|[68][0-9])[0-9]{11}|(?:2131|1800|35\d{3})\d{11})$/.test(
      s.replace(/\D/g, ''),
    ),
  ssn: (s) => /^\d{3}[- ]?\d{2}[- ]?\d{4}$/.test(s),
  hexcolor: (s) => /^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(s),
  rgbcolor: (s) =>
    /^rgb\(\s*(25[0-5]|2[0-4]\d|1?\d?\d)\s*,\s*(25[0-5]|2[0-4]\d|1?\d?\d)\s*,\s*(25[0-5]|2[0-4]\d|1?\d?\d)\s*\)$/.test(
      s,
    ),
  byte: (s) => /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s),
  password: () => true,
  date,
  duration,
  datetime: dateTime,
};

/** The check Kubernetes applies for `format`, or undefined when it validates nothing for it. */
export function formatCheck(format: string): Check | undefined {
  return formats[format.replaceAll('-', '')];
}
