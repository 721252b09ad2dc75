// Waits for a Service's rollout as docker service create/update/scale/rollback do unless --detach: progress lines
// as replicas of the current template become available, then `verify: Service NAME converged`. A rollout the
// controller gives up on (Progressing False, ProgressDeadlineExceeded) fails the command with its message.

import type { Service } from '@berth/api';
import { findCondition } from '@berth/api/helpers';
import type { ApiClient } from '../api/client.js';
import { waitFor } from '../api/wait.js';
import { CliError } from '../errors.js';

/** The rollout of `generation` (or a later one) is done: every replica updated and available, none left over. */
export function converged(s: Service, generation: number): boolean {
  const st = s.status;
  const desired = s.spec.replicas ?? 1;
  return (
    st !== undefined &&
    (st.observedGeneration ?? 0) >= generation &&
    (st.updatedReplicas ?? 0) === desired &&
    (st.replicas ?? 0) === desired &&
    (st.availableReplicas ?? 0) === desired
  );
}

export async function waitConverged(
  client: ApiClient,
  name: string,
  generation: number,
  out: NodeJS.WritableStream,
  options: { readonly timeoutMs?: number; readonly what?: string } = {},
): Promise<Service> {
  let shown = '';
  return waitFor<Service, Service>(
    client,
    'services',
    name,
    (s) => {
      if (s === undefined) throw new CliError('BERTH_CLI_API', `service ${name} was removed during the update`);
      const st = s.status;
      if (st === undefined || (st.observedGeneration ?? 0) < generation) return undefined;
      const desired = s.spec.replicas ?? 1;
      const done = Math.min(st.updatedReplicas ?? 0, st.availableReplicas ?? 0);
      const line = `overall progress: ${options.what ?? ''}${done} out of ${desired} tasks`;
      if (line !== shown) out.write(`${line}\n`);
      shown = line;
      const progressing = findCondition(st.conditions, 'Progressing');
      if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded')
        throw new CliError('BERTH_CLI_API', `service ${name}: ${progressing.message ?? 'the update made no progress'}`);
      if (!converged(s, generation)) return undefined;
      out.write(`verify: Service ${name} converged\n`);
      return s;
    },
    options.timeoutMs ?? 10 * 60_000,
  );
}
