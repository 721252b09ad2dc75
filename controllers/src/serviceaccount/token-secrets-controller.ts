// The legacy ServiceAccount token Secrets, as kube-controller-manager's tokens controller fills them: a Secret of type
// `kubernetes.io/service-account-token` naming a ServiceAccount in `kubernetes.io/service-account.name` gets that
// ServiceAccount's uid annotation and `token`, `ca.crt` and `namespace` keys.
//
// The controller holds no signing key (it is an API client like any other): the token comes from the TokenRequest
// API, bound to the Secret (boundObjectRef) and for the longest duration there is, so it works until the Secret or
// the ServiceAccount is deleted, as a legacy token does. A Secret whose uid annotation names an earlier
// ServiceAccount of that name is left alone: its token died with that ServiceAccount.
import { readFileSync } from 'node:fs';
import {
  resources,
  isConflict,
  isNotFound,
  newControllerManagedBy,
  type Controller,
  type Manager,
} from '@berth/controller-runtime';
import type { KubernetesObject } from '@kubernetes/client-node';
import { serviceAccounts } from './serviceaccount-controller.js';

export const serviceAccountTokenType = 'kubernetes.io/service-account-token';
export const serviceAccountNameAnnotation = 'kubernetes.io/service-account.name';
export const serviceAccountUidAnnotation = 'kubernetes.io/service-account.uid';
/** The longest token TokenRequest grants (2^32 s): as good as never expiring. */
const tokenSeconds = 2 ** 32;

const { secrets } = resources;

type Secret = KubernetesObject & { type?: string; data?: Record<string, string> };

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** The cluster's CA as the controller's kubeconfig names it, PEM; '' when it names none. */
function clusterCA(mgr: Manager): string {
  const cluster = mgr.client.kubeconfig.getCurrentCluster();
  if (cluster?.caData !== undefined && cluster.caData !== '') return Buffer.from(cluster.caData, 'base64').toString();
  if (cluster?.caFile !== undefined && cluster.caFile !== '') return readFileSync(cluster.caFile, 'utf8');
  return '';
}

export async function addTokenSecretsController(mgr: Manager): Promise<Controller> {
  const selector = { fieldSelector: `type=${serviceAccountTokenType}` };
  const secretCache = await mgr.cache.informerFor<Secret>(secrets, selector);
  const saCache = await mgr.cache.informerFor<KubernetesObject>(serviceAccounts);
  const ca = clusterCA(mgr);
  return (
    newControllerManagedBy(mgr)
      .for(secrets, selector)
      // A Secret may name a ServiceAccount made after it.
      .watches<KubernetesObject>(serviceAccounts, (sa) =>
        secretCache
          .list()
          .filter(
            (s) =>
              s.metadata?.namespace === sa.metadata?.namespace &&
              s.metadata?.annotations?.[serviceAccountNameAnnotation] === sa.metadata?.name,
          )
          .map((s) => ({ namespace: s.metadata?.namespace ?? '', name: s.metadata?.name ?? '' })),
      )
      .named('serviceaccount-token')
      .complete(async (ctx, req) => {
        const secret = secretCache.get(req.namespace, req.name);
        if (secret === undefined || secret.type !== serviceAccountTokenType || secret.metadata?.deletionTimestamp)
          return;
        const namespace = req.namespace ?? '';
        const saName = secret.metadata?.annotations?.[serviceAccountNameAnnotation];
        const sa = saName === undefined ? undefined : saCache.get(namespace, saName);
        const saUid = sa?.metadata?.uid;
        if (saName === undefined || saUid === undefined) return;
        const recorded = secret.metadata?.annotations?.[serviceAccountUidAnnotation];
        if (recorded !== undefined && recorded !== saUid) return;
        const data = secret.data ?? {};
        if (recorded === saUid && data['token'] && data['ca.crt'] !== undefined && data['namespace']) return;
        let token = recorded === saUid && data['token'] ? Buffer.from(data['token'], 'base64').toString() : undefined;
        if (token === undefined) {
          const review = (await mgr.client.request(
            'POST',
            `/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(saName)}/token`,
            {
              body: {
                apiVersion: 'authentication.k8s.io/v1',
                kind: 'TokenRequest',
                spec: {
                  expirationSeconds: tokenSeconds,
                  boundObjectRef: { kind: 'Secret', apiVersion: 'v1', name: req.name, uid: secret.metadata?.uid },
                },
              },
              signal: ctx.signal,
            },
          )) as { status?: { token?: string } };
          token = review.status?.token ?? '';
        }
        try {
          await mgr.client.patch(
            secrets,
            namespace,
            req.name,
            {
              metadata: {
                annotations: { [serviceAccountUidAnnotation]: saUid },
                // Patched only while it is the Secret the token was bound to.
                uid: secret.metadata?.uid,
              },
              data: { token: b64(token), 'ca.crt': b64(ca), namespace: b64(namespace) },
            },
            { type: 'merge', signal: ctx.signal },
          );
        } catch (e) {
          // Deleted (or made again) meanwhile: its token is dead already; a new Secret has its own reconcile.
          if (!isNotFound(e) && !isConflict(e)) throw e;
        }
      })
  );
}
