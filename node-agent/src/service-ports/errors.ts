// Failures of publishing Service ports on the node.
import { BerthError } from '@berth/api';

export type ServicePortErrorCode =
  /** iptables-save or iptables-restore failed (its output is in the message). */
  | 'IptablesFailed'
  /** conntrack could not clear the UDP flows to a backend that went. */
  | 'ConntrackFailed'
  /** Another process had bound a published port before the agent could hold it (the rules apply anyway). */
  | 'PortInUse';

export class ServicePortError extends BerthError<ServicePortErrorCode> {}
