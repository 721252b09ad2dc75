// How values read in the dashboard: ages as kubectl prints them, byte and CPU quantities, ports and IPs.

/** kubectl's age: 45s, 12m, 3h, 2d. */
export function age(timestamp: string | undefined, now: number): string {
  if (timestamp === undefined) return '';
  const seconds = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const decimal: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3 };

/** A Kubernetes quantity as a number (`128Mi` → 134217728, `250m` → 0.25); NaN when unreadable. */
export function quantity(q: string | undefined): number {
  if (q === undefined) return Number.NaN;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (m === null) return Number.NaN;
  const n = Number(m[1]);
  const unit = m[2] ?? '';
  if (unit === '') return n;
  if (unit === 'n') return n / 1e9;
  if (unit === 'u') return n / 1e6;
  return n * (binary[unit] ?? decimal[unit] ?? Number.NaN);
}

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export const millicores = (cores: number): string => (Number.isFinite(cores) ? `${Math.round(cores * 1000)}m` : '');
