// The Preact hook over Collection: a live list for as long as the component is shown.

import { useEffect, useState } from 'preact/hooks';
import { byNamespaceAndName, Collection, type CollectionState } from './collection.js';
import type { KubeObject } from './objects.js';
import { collectionPath, type ResourceType } from './resources.js';

export function useCollection(
  resource: ResourceType,
  namespace: string | undefined,
  options: {
    fieldSelector?: string;
    sort?: (a: KubeObject, b: KubeObject) => number;
    /** Keep metadata.managedFields (an object's own page shows them); lists go without. */
    managedFields?: boolean;
  } = {},
): CollectionState {
  const [state, setState] = useState<CollectionState>({ items: [], loading: true });
  const path = collectionPath(resource, namespace);
  const query = options.fieldSelector === undefined ? '' : `fieldSelector=${encodeURIComponent(options.fieldSelector)}`;
  const sort = options.sort ?? byNamespaceAndName;
  const managedFields = options.managedFields === true;
  useEffect(() => {
    const collection = new Collection(path, query, sort, { managedFields });
    const stop = collection.subscribe(setState);
    return () => {
      stop();
      collection.close();
    };
  }, [path, query, managedFields]);
  return state;
}
