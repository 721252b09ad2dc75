// A component's kubeconfig (an agent's, the controller manager's) that lists several API servers becomes one that
// points at a loopback balancer over them, so the component's one server URL survives the loss of any server.

import { KubeconfigFile } from '@berth/controller-runtime';
import {
  entryText,
  type KubeconfigFailure,
  namedEntry,
  readKubeconfigFile,
} from '@berth/controller-runtime/kubeconfig-entries';
import { KubeconfigError } from '../errors.js';
import { clusterServers } from './server-list.js';
import { startServerBalancer, type ServerBalancer } from './server-balancer.js';

export interface BalancedKubeconfig {
  /** The file as it is (one server), or the same kubeconfig going through the balancer. */
  readonly kubeconfig: KubeconfigFile | string;
  /** The servers it balances over (one: no balancer). */
  readonly servers: readonly string[];
  /** The balancer, when there is one. */
  readonly balancer?: ServerBalancer;
  close(): Promise<void>;
}

const fail: KubeconfigFailure = (message, cause) => new KubeconfigError(message, cause);

export async function balancedKubeconfig(
  path: string,
  onSwitch?: (from: string, to: string) => void,
  options: { /** A balancer even over one server (its list may grow: server-refresh.ts). */ always?: boolean } = {},
): Promise<BalancedKubeconfig> {
  const doc = readKubeconfigFile(path, fail);
  const clusterName = entryText(namedEntry(doc['contexts'], doc['current-context'], 'context'), 'cluster');
  const servers = clusterServers(namedEntry(doc['clusters'], clusterName, 'cluster'));
  if (servers.length < (options.always === true ? 1 : 2))
    return { kubeconfig: path, servers, close: async () => undefined };
  const balancer = await startServerBalancer(servers, onSwitch === undefined ? {} : { onSwitch });
  const kubeconfig = KubeconfigFile.load(path, { server: balancer.url });
  return { kubeconfig, servers, balancer, close: () => balancer.close() };
}
