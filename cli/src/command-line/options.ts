// Options several commands share, defined once.

import { Option } from 'commander';

/** Appends a repeated flag's values. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

export const namespaceOption = (): Option =>
  new Option('-n, --namespace <namespace>', "the objects' namespace (default: the kubeconfig context's)");
