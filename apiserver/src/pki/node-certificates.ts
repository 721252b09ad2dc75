// Node client certificates for agents that join with a bootstrap token: a CertificateSigningRequest for the signer
// `kubernetes.io/kube-apiserver-client-kubelet`, approved and signed in the same create (what kube-controller-manager's
// csrapproving and csrsigning controllers do for a kubelet's bootstrap request), so the answer carries the
// certificate. Only the node's own identity is signed: CN `system:node:NAME`, O `system:nodes`, nothing else.

import { ApiError } from '../errors/api-error.js';
import type { ReviewHandler } from '../handlers/reviews.js';
import { isPlainObject, type KubeObject } from '../objects/object.js';
import { signClientCertificateRequest, type Pki } from './pki.js';

export const kubeletClientSigner = 'kubernetes.io/kube-apiserver-client-kubelet';
const nodesGroup = 'system:nodes';
const nodePrefix = 'system:node:';

const invalid = (message: string) => new ApiError('Invalid', `CertificateSigningRequest is invalid: ${message}`);

export function nodeCertificateSigning(pki: Pki): ReviewHandler {
  return async (body, { user }) => {
    const spec = isPlainObject(body['spec']) ? body['spec'] : {};
    if (spec['signerName'] !== kubeletClientSigner)
      throw invalid(`spec.signerName: Unsupported value: only "${kubeletClientSigner}" is signed here`);
    const request = typeof spec['request'] === 'string' ? Buffer.from(spec['request'], 'base64').toString() : '';
    if (!request.includes('CERTIFICATE REQUEST')) throw invalid('spec.request: Required value: a PEM PKCS#10 request');
    const certificate = await signClientCertificateRequest(pki, request, (subject) => {
      const node = subject.user.startsWith(nodePrefix) ? subject.user.slice(nodePrefix.length) : '';
      if (node === '' || subject.groups.length !== 1 || subject.groups[0] !== nodesGroup)
        throw invalid(`spec.request: the subject must be CN=${nodePrefix}NAME, O=${nodesGroup}`);
      // A bootstrapper joins any node; a node renews only its own; the cluster's admins may sign for any.
      const allowed =
        user.groups.includes('system:bootstrappers') ||
        user.groups.includes('system:masters') ||
        user.name === subject.user;
      if (!allowed)
        throw new ApiError('Forbidden', `user "${user.name}" may not request a certificate for ${subject.user}`);
    }).catch((e: unknown) => {
      if (ApiError.isInstance(e)) throw e;
      throw invalid(`spec.request: ${(e as Error).message}`);
    });
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    return {
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { ...body.metadata, creationTimestamp: now },
      spec: { ...spec, username: user.name, groups: user.groups },
      status: {
        conditions: [
          {
            type: 'Approved',
            status: 'True',
            reason: 'AutoApproved',
            message: 'Auto approving kubelet client certificate after SubjectAccessReview.',
            lastUpdateTime: now,
          },
        ],
        certificate: Buffer.from(certificate).toString('base64'),
      },
    } as KubeObject;
  };
}
