// @berth/controller-runtime: the one runtime berth's controllers share (informers, workqueue, reconcile loop,
// builder, manager, Event recorder, leader election), split as kubernetes-sigs/controller-runtime is.
export {
  KubeconfigFile,
  loadKubeConfig,
  type Kubeconfig,
  type KubeconfigCluster,
} from './client/kubeconfig.js';
export {
  ApiClient,
  type ApiClientOptions,
  type ListOptions,
  type ObjectList,
  type PatchType,
  type WatchEvent,
  type WatchEventType,
  type WatchOptions,
} from './client/api-client.js';
export {
  apiVersionOf,
  resourceId,
  resourcePath,
  splitApiVersion,
  type KindRef,
  type Resource,
} from './client/resource.js';
export { resources } from './client/resources.js';
export { Indexer, keyOf, namespaceIndex, objectKey, type IndexFunc } from './cache/indexer.js';
export { SharedInformer, type Backoff, type EventHandler, type InformerOptions } from './cache/informer.js';
export { RetryBackoff, type RetryBackoffOptions } from './cache/retry-backoff.js';
export { InformerCache, type InformerCacheOptions, type InformerSelector } from './cache/informer-cache.js';
export { ExponentialBackoff, type ExponentialBackoffOptions, type RateLimiter } from './workqueue/rate-limiter.js';
export { WorkQueue, type Timers, type WorkQueueOptions } from './workqueue/workqueue.js';
export {
  asReconciler,
  requestKey,
  requestOf,
  silentLogger,
  TerminalError,
  terminalErrorOf,
  withFields,
  type LogFields,
  type Logger,
  type ReconcileContext,
  type ReconcileFunc,
  type Reconciler,
  type Request,
  type Result,
} from './reconcile/reconcile.js';
export { enqueueForObject, enqueueForOwner, mappingHandler, type MapFunc, type OwnerKind } from './handler/enqueue.js';
export { Controller, type ControllerOptions, type Outcome } from './controller/controller.js';
export { Builder, newControllerManagedBy } from './builder/builder.js';
export { Manager, type ManagerOptions, type Runnable } from './manager/manager.js';
export { EventRecorder, type EventRecorderOptions, type EventType } from './events/recorder.js';
export { LeaderElector, type LeaderElectionOptions, leases, microTime } from './leader-election/lease-elector.js';
export {
  ApiCallError,
  apiStatusCode,
  checkNumber,
  ControllerRuntimeError,
  InvalidOptionError,
  isAlreadyExists,
  isConflict,
  isGone,
  isTooManyRequests,
  isNotFound,
  type ControllerRuntimeErrorCode,
} from './errors.js';
export { RuntimeMetrics, type QueueMetrics, type ReconcileMetrics } from './metrics/runtime-metrics.js';
export { MetricsServer, type MetricsServerOptions } from './metrics/metrics-server.js';
