// @berth/api/helpers: the pure helpers without the CRD data (about 360 KB of generated schemas), for processes that
// start often and need only names, labels, quantities and errors (the berth CLI); the kinds' types stay in the index.
export * from './meta.js';
export * from './errors.js';
export * from './invalid-argument.js';
export * from './field-errors.js';
export * from './names.js';
export * from './labels.js';
export * from './label-selector.js';
export * from './field-selector.js';
export * from './quantity.js';
export * from './quota-resources.js';
export * from './platform.js';
export * from './conditions.js';
export * from './ipv4.js';
export * from './network-bridge.js';
export { reconcileRequestedAtAnnotation, signalAnnotation, tunnelAddressAnnotation } from './well-known-annotations.js';
export * from './pull-progress.js';
export * from './push-progress.js';
export * from './git-build-context.js';
