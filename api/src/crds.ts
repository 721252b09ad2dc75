// berth's own CustomResourceDefinitions as data, for the apiserver to register at start.
import type { CustomResourceDefinition } from './crd.js';
import { berthCrdData } from './generated/crds.js';

/**
 * berth's CRDs (Container, Image, Network, Service, Volume) exactly as written in crds/, as fresh copies
 * the caller may change. Async so a later version can read crds/ from disk without changing callers; today the
 * data is compiled in (api/src/generated/crds.ts), which keeps @berth/api free of I/O.
 */
export async function loadBerthCrds(): Promise<CustomResourceDefinition[]> {
  return structuredClone(berthCrdData) as CustomResourceDefinition[];
}
