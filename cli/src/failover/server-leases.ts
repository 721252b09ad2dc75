// Where each API server serves, kept in the cluster: a Lease kube-system/berth-apiserver-<hash of its URL>, labelled
// berth.dev/apiserver, whose holderIdentity is the URL, renewed by `berth up` while the server runs (as kube-apiserver
// keeps an identity Lease in kube-system). Agents list them to learn the cluster's servers (server-refresh.ts);
// a Lease not renewed within its duration is a server gone.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, isNotFound, type Kubeconfig, leases } from '@berth/controller-runtime';

export const serverLeaseLabel = 'berth.dev/apiserver';
const namespace = 'kube-system';

interface Lease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; resourceVersion?: string };
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
}

const leaseName = (url: string): string =>
  `berth-apiserver-${createHash('sha256').update(url).digest('hex').slice(0, 12)}`;
const microTime = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export interface ServerLeaseOptions {
  /** Seconds between renewals. @default 10 */
  readonly renewSeconds?: number;
  /** Seconds the Lease stands unrenewed. @default 40 */
  readonly durationSeconds?: number;
  readonly onError?: (err: unknown) => void;
}

/** Renews the Lease of the server at `url` until closed. */
export function startServerLease(
  kubeconfig: Kubeconfig | string,
  url: string,
  options: ServerLeaseOptions = {},
): { close(): Promise<void> } {
  const client = new ApiClient({ kubeconfig, userAgent: 'berth-apiserver-lease' });
  const stop = new AbortController();
  const renewMs = (options.renewSeconds ?? 10) * 1000;
  const durationSeconds = options.durationSeconds ?? 40;
  const name = leaseName(url);
  const renew = async () => {
    const lease: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace, labels: { [serverLeaseLabel]: 'true' } },
      spec: { holderIdentity: url, leaseDurationSeconds: durationSeconds, renewTime: microTime(new Date()) },
    };
    try {
      const current = await client.get<Lease>(leases, namespace, name, stop.signal);
      await client.update(
        leases,
        { ...lease, metadata: { ...lease.metadata, ...current.metadata } },
        {
          signal: stop.signal,
        },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await client.create(leases, lease, stop.signal);
    }
  };
  const loop = (async () => {
    while (!stop.signal.aborted) {
      await renew().catch((err: unknown) => {
        if (!stop.signal.aborted) options.onError?.(err);
      });
      await sleep(renewMs, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  })();
  return {
    async close() {
      stop.abort();
      await loop;
      client.close();
    },
  };
}

/** The URLs of the servers whose Leases stand at `now`, in name order. */
export async function leasedServers(client: ApiClient, now = Date.now(), signal?: AbortSignal): Promise<string[]> {
  const { items } = await client.list<Lease>(leases, { namespace, labelSelector: serverLeaseLabel }, signal);
  const live: string[] = [];
  for (const l of items.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1))) {
    const url = l.spec?.holderIdentity;
    const renewed = Date.parse(l.spec?.renewTime ?? '');
    const duration = (l.spec?.leaseDurationSeconds ?? 0) * 1000;
    if (url !== undefined && url !== '' && Number.isFinite(renewed) && renewed + duration > now) live.push(url);
  }
  return live;
}
