// ConfigMaps: keys of data and binaryData checked as Kubernetes does.

import { invalid, type FieldError } from '@berth/api';
import { isPlainObject } from '../../objects/object.js';
import type { Strategy } from '../strategy.js';
import { configKey, configKeyMessage, immutableData } from './config-data.js';

export const configMapStrategy: Strategy = {
  validate(obj) {
    const problems: FieldError[] = [];
    for (const field of ['data', 'binaryData']) {
      const data = obj[field];
      if (!isPlainObject(data)) continue;
      for (const k of Object.keys(data)) {
        if (!configKey.test(k)) {
          problems.push(invalid(`${field}[${k}]`, k, configKeyMessage));
        }
      }
    }
    return problems;
  },
  validateUpdate: immutableData,
};
