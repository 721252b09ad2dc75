// @berth/api: berth's kinds as types (generated from crds/) and pure helpers for Kubernetes-style objects.
export * from './helpers.js';
export * from './crd.js';
export * from './crds.js';
export * from './generated/index.js';
