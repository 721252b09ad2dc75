// @berth/controllers: berth's controllers, one folder each on @berth/controller-runtime, and the controller
// manager that runs them all against the API server like any other client.
export {
  controllerManagerName,
  startControllers,
  type ControllerManagerOptions,
  type LeaderElectionConfig,
  type RunningControllers,
} from './controller-manager.js';
export {
  addNamespaceController,
  namespaceFinalizer,
  type NamespaceControllerOptions,
} from './namespace/namespace-controller.js';
export { NamespaceDeletionError } from './namespace/errors.js';
export {
  addGarbageCollector,
  garbageCollectorComponent,
  type GarbageCollectorOptions,
} from './garbage-collector/garbage-collector.js';
export { GarbageCollectionError } from './garbage-collector/errors.js';
export {
  addServiceController,
  serviceControllerName,
  type ServiceControllerOptions,
} from './service/service-controller.js';
export {
  rollbackAnnotation,
  rollbackRefusedAnnotation,
  revisionAnnotation,
  serviceLabel,
  templateHashLabel,
} from './service/labels.js';
export { templateHash } from './service/template-hash.js';
export { ServiceControllerError } from './service/errors.js';
export {
  addSchedulerController,
  schedulerName,
  type SchedulerOptions,
} from './scheduler/scheduler-controller.js';
export {
  addNodeLifecycleController,
  nodeLeaseNamespace,
  type NodeLifecycleControllerOptions,
} from './node-lifecycle/node-lifecycle-controller.js';
export { notReadyTaint, unreachableTaint } from './node-lifecycle/node-health.js';
export {
  addNetworkController,
  networkFinalizer,
  type NetworkControllerOptions,
} from './network/network-controller.js';
export {
  addGitOpsController,
  type GitOpsControllerOptions,
  type GitOpsControllers,
} from './gitops/gitops-controller.js';
export { requestedAtAnnotation } from './gitops/reconcile-request.js';
export { gitopsFieldManager } from './gitops/sync/apply.js';
export { syncNameLabel, syncNamespaceLabel } from './gitops/sync/sync-controller.js';
export { WebhookReceiver, type WebhookReceiverOptions } from './gitops/receiver/webhook-receiver.js';
export { GitOpsError, type GitOpsErrorCode } from './gitops/errors.js';
