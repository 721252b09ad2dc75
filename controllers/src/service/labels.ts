// The labels and annotations the service controller writes, in one place.

/** On every replica and revision: the hash of the template it was made from (Kubernetes' pod-template-hash). */
export const templateHashLabel = 'berth.dev/template-hash';
/** On every revision ConfigMap: the Service it records (a revision is found by this label, not by its name). */
export const serviceLabel = 'berth.dev/service';
/** On the Service and its revision ConfigMaps: the revision number (Kubernetes' deployment.kubernetes.io/revision). */
export const revisionAnnotation = 'berth.dev/revision';
/**
 * On a Service, set by a user: roll back to this revision number ("0" or "": the one before the current), as
 * extensions/v1beta1 DeploymentRollback did; the controller rewrites spec.template and removes the annotation.
 */
export const rollbackAnnotation = 'berth.dev/rollback-to';
/**
 * On a Service, set by the controller in the update that removes a refused rollback-to: why it was refused. Written
 * with the removal, so a client that saw the annotation go knows the outcome of its own request (an Event could be
 * an earlier request's); removed by the next rollback done, and by the client asking for a new one.
 */
export const rollbackRefusedAnnotation = 'berth.dev/rollback-refused';
/**
 * On every replica: its task slot, "1", "2", … (Swarm's slot, the N of `web.N`). A replacement takes the slot of the
 * replica it replaces; a new replica the lowest free one.
 */
export const slotLabel = 'berth.dev/slot';
