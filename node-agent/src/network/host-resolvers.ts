// The host's name servers, for containers whose network has no name server of its own (Network dns: false):
// /etc/resolv.conf's nameserver lines less the loopback ones, which mean nothing inside a container's own
// network namespace (Docker drops them likewise).
import { readFile } from 'node:fs/promises';

export async function hostNameservers(resolvConf = '/etc/resolv.conf'): Promise<string[]> {
  let text = '';
  try {
    text = await readFile(resolvConf, 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const ip = m?.[1];
    if (ip === undefined || ip.startsWith('127.') || ip === '::1') continue;
    out.push(ip);
  }
  return out;
}
