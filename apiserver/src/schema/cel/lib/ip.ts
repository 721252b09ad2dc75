// Kubernetes' CEL IP and CIDR libraries: ip(), isIP(), cidr(), isCIDR(), family, classification, containment.

import { isIPv4, isIPv6 } from 'node:net';
import { CelScalar, celError, celFunc, celMethod, type CelFunc } from '@bufbuild/cel';
import { OPAQUE, isOpaque, opaque, payloadOf } from './opaque.js';

interface Address {
  readonly family: 4 | 6;
  readonly value: bigint;
}

const bitsOf = (family: 4 | 6) => (family === 4 ? 32 : 128);

/** Parses an address as Kubernetes' ip() does: no zones, no IPv4-mapped IPv6, no leading zeros in IPv4. */
function parseAddress(s: string): Address | undefined {
  if (isIPv4(s)) {
    if (s.split('.').some((p) => p.length > 1 && p.startsWith('0'))) return undefined;
    return { family: 4, value: s.split('.').reduce((acc, p) => (acc << 8n) | BigInt(Number(p)), 0n) };
  }
  if (!isIPv6(s) || s.includes('%') || s.includes('.')) return undefined;
  const [head = '', tail] = s.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

function format(a: Address): string {
  if (a.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((a.value >> s) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((a.value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  let best = [-1, 0];
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best[1]! && j - i > 1) best = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best[0]! < 0) return groups.join(':');
  return `${groups.slice(0, best[0]).join(':')}::${groups.slice(best[0]! + best[1]!).join(':')}`;
}

interface Prefix {
  readonly address: Address;
  readonly length: number;
}

function parsePrefix(s: string): Prefix | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const address = parseAddress(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (address === undefined || !/^\d+$/.test(lenText)) return undefined;
  const length = Number(lenText);
  return length <= bitsOf(address.family) ? { address, length } : undefined;
}

const maskOf = (p: Prefix): bigint => {
  const bits = BigInt(bitsOf(p.address.family));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(p.length))) - 1n);
};
const contains = (p: Prefix, a: Address) =>
  p.address.family === a.family && (a.value & maskOf(p)) === (p.address.value & maskOf(p));

const addressOf = (v: unknown): Address => parseAddress(String(payloadOf('ip', v)))!;
const prefixOf = (v: unknown): Prefix => parsePrefix(String(payloadOf('cidr', v)))!;
const toAddress = (v: unknown): Address => {
  if (typeof v === 'string') {
    const a = parseAddress(v);
    if (a === undefined) throw celError(`IP Address ${JSON.stringify(v)} parse error during conversion from string`);
    return a;
  }
  return addressOf(v);
};
const toPrefix = (v: unknown): Prefix => {
  if (typeof v === 'string') {
    const p = parsePrefix(v);
    if (p === undefined) throw celError(`network address parse error during conversion from string: ${v}`);
    return p;
  }
  return prefixOf(v);
};

export const ipLibrary: CelFunc[] = [
  celFunc('ip', [CelScalar.STRING], OPAQUE, (s) => {
    if (parseAddress(s) === undefined)
      throw celError(`IP Address ${JSON.stringify(s)} parse error during conversion from string`);
    return opaque('ip', s);
  }),
  celFunc('isIP', [CelScalar.STRING], CelScalar.BOOL, (s) => parseAddress(s) !== undefined),
  celFunc('ip.isCanonical', [CelScalar.STRING], CelScalar.BOOL, (s) => {
    const a = parseAddress(s);
    if (a === undefined) throw celError(`IP Address ${JSON.stringify(s)} parse error during conversion from string`);
    return format(a) === s;
  }),
  celMethod('family', OPAQUE, [], CelScalar.INT, function () {
    return BigInt(addressOf(this).family);
  }),
  celMethod('isUnspecified', OPAQUE, [], CelScalar.BOOL, function () {
    return addressOf(this).value === 0n;
  }),
  celMethod('isLoopback', OPAQUE, [], CelScalar.BOOL, function () {
    const a = addressOf(this);
    return a.family === 4 ? a.value >> 24n === 127n : a.value === 1n;
  }),
  celMethod('isLinkLocalUnicast', OPAQUE, [], CelScalar.BOOL, function () {
    const a = addressOf(this);
    return a.family === 4 ? a.value >> 16n === 0xa9fen : a.value >> 118n === 0x3fan;
  }),
  celMethod('isLinkLocalMulticast', OPAQUE, [], CelScalar.BOOL, function () {
    const a = addressOf(this);
    return a.family === 4 ? a.value >> 8n === 0xe00000n : a.value >> 112n === 0xff02n;
  }),
  celMethod('isGlobalUnicast', OPAQUE, [], CelScalar.BOOL, function () {
    const a = addressOf(this);
    if (a.family === 4)
      return (
        a.value !== 0xffffffffn &&
        a.value >> 24n !== 0n &&
        a.value >> 24n !== 127n &&
        a.value >> 28n !== 0xen &&
        a.value >> 16n !== 0xa9fen
      );
    return a.value !== 0n && a.value !== 1n && a.value >> 120n !== 0xffn && a.value >> 118n !== 0x3fan;
  }),
  celFunc('cidr', [CelScalar.STRING], OPAQUE, (s) => {
    if (parsePrefix(s) === undefined) throw celError(`network address parse error during conversion from string: ${s}`);
    return opaque('cidr', s);
  }),
  celFunc('isCIDR', [CelScalar.STRING], CelScalar.BOOL, (s) => parsePrefix(s) !== undefined),
  celMethod('containsIP', OPAQUE, [CelScalar.DYN], CelScalar.BOOL, function (other) {
    return contains(prefixOf(this), toAddress(other));
  }),
  celMethod('containsCIDR', OPAQUE, [CelScalar.DYN], CelScalar.BOOL, function (other) {
    const outer = prefixOf(this);
    const inner = toPrefix(other);
    return inner.length >= outer.length && contains(outer, inner.address);
  }),
  celMethod('prefixLength', OPAQUE, [], CelScalar.INT, function () {
    return BigInt(prefixOf(this).length);
  }),
  celMethod('masked', OPAQUE, [], OPAQUE, function () {
    const p = prefixOf(this);
    return opaque('cidr', `${format({ family: p.address.family, value: p.address.value & maskOf(p) })}/${p.length}`);
  }),
  celMethod('ip', OPAQUE, [], OPAQUE, function () {
    if (!isOpaque('cidr', this)) throw celError('no such overload: ip() of a non-CIDR');
    return opaque('ip', format(prefixOf(this).address));
  }),
  celFunc('string', [OPAQUE], CelScalar.STRING, (v) => {
    for (const kind of ['ip', 'cidr', 'url']) if (isOpaque(kind, v)) return String(payloadOf(kind, v));
    throw celError('no such overload: string()');
  }),
];
