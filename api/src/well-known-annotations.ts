// Annotations that carry a request from one API client to another (the CLI to a node agent or a controller), named
// once here so both sides agree.

/** `berth kill`: the node agent running the Container sends this signal (`SIGHUP`) once, then removes the annotation. */
export const signalAnnotation = 'berth.dev/signal';

/** `berth gitops reconcile`: a new value makes the gitops controller act now (status.lastHandledReconcileAt). */
export const reconcileRequestedAtAnnotation = 'reconcile.berth.dev/requestedAt';

/**
 * A Node's address between hosts, set by its agent (`--tunnel-address`), as flannel's public-ip annotation: the
 * network controller copies it into each Network's status.nodes, where other nodes' VXLAN ports send to it.
 */
export const tunnelAddressAnnotation = 'berth.dev/tunnel-address';
