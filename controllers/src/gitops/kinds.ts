// The kinds the gitops controller reads and writes, by REST coordinates (no discovery round trip for these).
import type { GitRepositorySpec, GitRepositoryStatus, SyncSpec, SyncStatus } from '@berth/api';
import { resources } from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';

export const { gitRepositories, syncs, secrets } = resources;

/**
 * The objects as the client sees them: client-node's KubernetesObject (its metadata types, as informers hold
 * them) with berth's generated spec and status.
 */
export interface GitRepositoryObject extends KubernetesObject {
  spec?: GitRepositorySpec;
  status?: GitRepositoryStatus;
}

export interface SyncObject extends KubernetesObject {
  spec?: SyncSpec;
  status?: SyncStatus;
}
