// @berth/apiserver: the Kubernetes-compatible API server, its storage and its PKI.
export { ApiServer, kubernetesVersion, type ApiServerOptions } from './server.js';
export { createClientCertificateRequest, ensurePki, issueClientCertificate, type Pki } from './pki/pki.js';
export { ClusterTokenError, clusterIdentityKey, shareClusterIdentity } from './pki/cluster-identity.js';
export {
  encryptionConfigFile,
  ensureEncryptionConfig,
  parseEncryptionConfig,
  rotateEncryptionKey,
  type EncryptionConfig,
} from './encryption/encryption-config.js';
export {
  auditLevels,
  defaultAuditPolicy,
  parseAuditPolicy,
  type AuditLevel,
  type AuditPolicy,
} from './audit/audit-policy.js';
export type { AuditLogOptions } from './audit/audit-log.js';
export { LevelStore } from './storage/level-store.js';
export type { Store } from './storage/interface.js';
export { alwaysAllow, type Authorizer, type Decision } from './authorization/authorizer.js';
export type { UserInfo } from './authentication/authenticator.js';
export type { RequestInfo } from './request-chain/request-info.js';
export type { Logger } from './logging/logger.js';
export type {
  Admission,
  AdmissionAttributes,
  AdmissionOperation,
  MutatingAdmission,
  ValidatingAdmission,
} from './admission/admission.js';
export type { PodSecurityOptions } from './admission/pod-security/pod-security.js';
export { createLogger, isLogLevel, logLevels, type LogLevel } from './logging/logger.js';
export { InvalidArgumentError } from '@berth/api';
export { EtcdStore, type EtcdStoreOptions } from './storage/etcd/etcd-store.js';
export { parseEtcdUrl, readEtcdTls, type EtcdEndpoints, type EtcdTls } from './storage/etcd/etcd-connection.js';
export {
  BackupFileError,
  readBackup,
  restoreBackup,
  writeBackup,
  type BackupHeader,
  type RestoreResult,
} from './storage/backup.js';
