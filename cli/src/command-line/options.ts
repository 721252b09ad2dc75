// Options several commands share, defined once.

import { Option } from 'commander';

/** Appends a repeated flag's values. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

export const namespaceOption = (): Option =>
  new Option('-n, --namespace <namespace>', "the objects' namespace (default: the kubeconfig context's)");

/**
 * The namespace without `-n`, for the docker commands whose own `-n` a docker user types (`logs -n` is --tail,
 * `ps -n` is --last): there docker's meaning wins.
 */
export const namespaceLongOption = (): Option =>
  new Option(
    '--namespace <namespace>',
    "the objects' namespace (default: the kubeconfig context's; -n is docker's here)",
  );
