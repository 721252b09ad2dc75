// @berth/api: berth's kinds as types (generated from crds/) and pure helpers for Kubernetes-style objects.
export * from './meta.js';
export * from './crd.js';
export * from './crds.js';
export * from './generated/index.js';
export * from './errors.js';
export * from './invalid-argument.js';
export * from './field-errors.js';
export * from './names.js';
export * from './labels.js';
export * from './label-selector.js';
export * from './field-selector.js';
export * from './quantity.js';
export * from './platform.js';
export * from './conditions.js';
export * from './ipv4.js';
export * from './network-bridge.js';
export { reconcileRequestedAtAnnotation, signalAnnotation } from './well-known-annotations.js';
export * from './pull-progress.js';
