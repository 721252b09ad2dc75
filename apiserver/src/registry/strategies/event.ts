// Events: timestamps and count filled in as Kubernetes does, and source.component as a field selector.

import { isPlainObject, nowTimestamp } from '../../objects/object.js';
import type { Strategy } from '../strategy.js';

export const eventStrategy: Strategy = {
  prepareForCreate(obj) {
    if (obj['firstTimestamp'] === undefined && obj['eventTime'] === undefined) obj['firstTimestamp'] = nowTimestamp();
    if (obj['lastTimestamp'] === undefined && obj['eventTime'] === undefined)
      obj['lastTimestamp'] = obj['firstTimestamp'];
    if (obj['count'] === undefined) obj['count'] = 1;
  },
  fieldsOf(obj) {
    const src = obj['source'];
    return { source: isPlainObject(src) && typeof src['component'] === 'string' ? src['component'] : '' };
  },
};
