// The Linux bridge a Network gets when spec.bridgeName is unset: the same name on every node and in the
// controller's status, so it is derived here, once, from the Network's namespace and name.

/** FNV-1a, 64 bits: a pure, stable digest (this package has no Node built-ins, so no node:crypto). */
function fnv1a64(text: string): bigint {
  let hash = 0xcbf29ce484222325n;
  // Namespaces and names are DNS-1123 (ASCII): a character is a byte.
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i) & 0xff);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash;
}

/** `bn` and 10 hex digits of namespace/name: within Linux's 15 characters, unique on a node in practice. */
export function networkBridgeName(namespace: string, name: string): string {
  return `bn${fnv1a64(`${namespace}/${name}`).toString(16).padStart(16, '0').slice(0, 10)}`;
}
