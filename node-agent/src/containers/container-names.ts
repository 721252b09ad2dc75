// The names a Container answers to on a network (its name, its aliases), for the network's name server.
import type { Container } from '@berth/api';

/**
 * What `name` resolves to on `network` for the member at `client`: Containers on that network by name or alias,
 * in the asker's namespace, or as `name.namespace` from anywhere on it.
 */
export function containerAddresses(
  all: readonly Container[],
  network: string,
  name: string,
  client: string,
): string[] | undefined {
  const asker = all.find((c) => c.status?.ips?.some((a) => a.ip === client && a.network === network));
  const out: string[] = [];
  for (const c of all) {
    const ns = c.metadata.namespace ?? '';
    const names = [c.metadata.name ?? '', ...(c.spec.networks?.find((n) => n.name === network)?.aliases ?? [])].map(
      (n) => n.toLowerCase(),
    );
    const matches =
      (names.includes(name) && asker !== undefined && asker.metadata.namespace === ns) ||
      names.some((n) => `${n}.${ns}` === name);
    if (!matches) continue;
    for (const a of c.status?.ips ?? []) if (a.network === network) out.push(a.ip);
  }
  return out.length > 0 ? out : undefined;
}
