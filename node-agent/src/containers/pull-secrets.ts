// Registry credentials for a Container: the `kubernetes.io/dockerconfigjson` Secrets its spec.imagePullSecrets names.
import type { Container } from '@berth/api';
import type { DockerConfigJson } from '../distribution/distribution.js';
import { AgentError } from './errors.js';

export const dockerConfigJsonType = 'kubernetes.io/dockerconfigjson';

/** The Secret names a Container asks for. */
export function imagePullSecretNames(container: Container): string[] {
  const refs = (container.spec as { imagePullSecrets?: unknown }).imagePullSecrets;
  if (!Array.isArray(refs)) return [];
  return refs.flatMap((r: unknown) =>
    typeof r === 'object' && r !== null && typeof (r as { name?: unknown }).name === 'string'
      ? [(r as { name: string }).name]
      : [],
  );
}

/**
 * Merges the `auths` of the named Secrets (earlier Secrets win for the same registry, as kubelet tries them in
 * order). A missing Secret is skipped, as kubelet does; one of the wrong type or with bad JSON is an error.
 */
export async function pullCredentials(
  container: Container,
  readSecret: (name: string) => Promise<{ type: string; data: Record<string, string> } | undefined>,
): Promise<DockerConfigJson | undefined> {
  return secretCredentials(imagePullSecretNames(container), readSecret);
}

/** The merged `auths` of the named dockerconfigjson Secrets (a Container's or an Image's imagePullSecrets). */
export async function secretCredentials(
  names: readonly string[],
  readSecret: (name: string) => Promise<{ type: string; data: Record<string, string> } | undefined>,
): Promise<DockerConfigJson | undefined> {
  if (names.length === 0) return undefined;
  const auths: Record<string, { auth?: string; username?: string; password?: string }> = {};
  for (const name of names) {
    const secret = await readSecret(name);
    if (secret === undefined) continue;
    if (secret.type !== dockerConfigJsonType) {
      throw new AgentError(
        'ErrImagePull',
        `image pull secret "${name}" has type ${secret.type}, not ${dockerConfigJsonType}`,
      );
    }
    let parsed: DockerConfigJson;
    try {
      parsed = JSON.parse(secret.data['.dockerconfigjson'] ?? '') as DockerConfigJson;
    } catch {
      throw new AgentError('ErrImagePull', `image pull secret "${name}": .dockerconfigjson is not valid JSON`);
    }
    if (typeof parsed !== 'object' || parsed === null)
      throw new AgentError('ErrImagePull', `image pull secret "${name}": .dockerconfigjson is not a JSON object`);
    for (const [registry, entry] of Object.entries(parsed.auths ?? {}))
      if (!(registry in auths)) auths[registry] = { ...entry };
  }
  return { auths };
}
