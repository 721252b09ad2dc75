// A component's kubeconfig (an agent's, the controller manager's) that lists several API servers becomes one that
// points at a loopback balancer over them, so the component's one server URL survives the loss of any server.

import { readFile } from 'node:fs/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { KubeconfigError } from '../errors.js';
import { clusterServers } from './server-list.js';
import { startServerBalancer, type ServerBalancer } from './server-balancer.js';

export interface BalancedKubeconfig {
  /** The file as it is (one server), or the KubeConfig that goes through the balancer. */
  readonly kubeconfig: KubeConfig | string;
  /** The servers it balances over (one: no balancer). */
  readonly servers: readonly string[];
  /** The balancer, when there is one. */
  readonly balancer?: ServerBalancer;
  close(): Promise<void>;
}

type Entry = Record<string, unknown>;
const named = (list: unknown, name: unknown, key: string): Entry | undefined =>
  (Array.isArray(list) ? (list as Entry[]) : []).find((e) => e?.['name'] === name)?.[key] as Entry | undefined;

export async function balancedKubeconfig(
  path: string,
  onSwitch?: (from: string, to: string) => void,
  options: { /** A balancer even over one server (its list may grow: server-refresh.ts). */ always?: boolean } = {},
): Promise<BalancedKubeconfig> {
  let doc: Entry;
  try {
    doc = (parse(await readFile(path, 'utf8')) ?? {}) as Entry;
  } catch (e) {
    throw new KubeconfigError(`cannot read kubeconfig ${path}: ${(e as Error).message.split('\n')[0] ?? ''}`, e);
  }
  const clusterName = named(doc['contexts'], doc['current-context'], 'context')?.['cluster'];
  const servers = clusterServers(named(doc['clusters'], clusterName, 'cluster'));
  if (servers.length < (options.always === true ? 1 : 2))
    return { kubeconfig: path, servers, close: async () => undefined };
  const balancer = await startServerBalancer(servers, onSwitch === undefined ? {} : { onSwitch });
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  kc.loadFromOptions({
    clusters: kc.clusters.map((c) => (c.name === clusterName ? { ...c, server: balancer.url } : c)),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return { kubeconfig: kc, servers, balancer, close: () => balancer.close() };
}
