// Errors of container networking, with stable codes a Container's status can carry as its reason.
import { BerthError } from '@berth/api';

export type NetworkErrorCode =
  /** A published host port is taken: by a host process, or by another container berth published it for. */
  | 'PortInUse'
  /** A CNI plugin failed (its code and message are in the error's message). */
  | 'NetworkPluginFailed'
  /** The network namespace could not be made or removed. */
  | 'NetnsFailed'
  /** A network definition or port mapping that cannot work (bad subnet, bad name). */
  | 'InvalidNetwork'
  /** A network's name server could not listen on its gateway (port 53 there held by something else). */
  | 'NameServerFailed'
  /** A user Network the network controller has not reported Ready yet (just created), or that is being deleted. */
  | 'NetworkNotReady';

/** `NetworkError.isInstance` (or instanceof) holds across package copies (BerthError's brand). */
export class NetworkError extends BerthError<NetworkErrorCode> {}
