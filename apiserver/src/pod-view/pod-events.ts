// Events about a Pod are the Events about its Container: the node agent records them on the Container (same uid,
// name and namespace), and `kubectl describe pod` asks for `involvedObject.kind=Pod` with the Pod's uid. Such a
// query is narrowed by the uid alone, so it finds the Container's Events and any recorded against the Pod; one
// without a uid asks about Containers instead.

import type { ResourceRequest } from '../http/request-info.js';

/** The query a list or watch of Events runs with: `query` itself unless it asks about a Pod by uid. */
export function podEventsQuery(resource: ResourceRequest | undefined, query: URLSearchParams): URLSearchParams {
  if (resource?.group !== '' || resource.resource !== 'events') return query;
  if (resource.verb !== 'list' && resource.verb !== 'watch') return query;
  const selector = query.get('fieldSelector');
  if (selector === null) return query;
  // Terms are comma-separated; a value may escape a comma as `\,`.
  const terms = selector.split(/(?<!\\),/);
  if (!terms.includes('involvedObject.kind=Pod')) return query;
  const narrowed = new URLSearchParams(query);
  if (terms.some((t) => t.startsWith('involvedObject.uid='))) {
    narrowed.set('fieldSelector', terms.filter((t) => t !== 'involvedObject.kind=Pod').join(','));
    return narrowed;
  }
  // Without a uid (a UI's Events of pods, `kubectl get events --field-selector involvedObject.kind=Pod`): the
  // Events about Containers, the Pods that are, under their own kind (Events recorded against a Pod by name alone
  // are not among them).
  const asContainer = terms
    .filter((t) => t !== 'involvedObject.apiVersion=v1')
    .map((t) => (t === 'involvedObject.kind=Pod' ? 'involvedObject.kind=Container' : t));
  narrowed.set('fieldSelector', asContainer.join(','));
  return narrowed;
}
