// Secrets: stringData folded into base64 data, type Opaque by default, keys and size checked as Kubernetes does.

import { invalid, tooLong, type FieldError } from '@berth/api';
import { isPlainObject } from '../../objects/object.js';
import type { Strategy } from '../strategy.js';
import { configKey, configKeyMessage, immutableData } from './config-data.js';

const base64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export const secretStrategy: Strategy = {
  canonicalize(obj) {
    const stringData = obj['stringData'];
    if (isPlainObject(stringData)) {
      const data = isPlainObject(obj['data']) ? obj['data'] : {};
      for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
      obj['data'] = data;
    }
    delete obj['stringData'];
    if (obj['type'] === undefined) obj['type'] = 'Opaque';
  },
  validate(obj) {
    const problems: FieldError[] = [];
    const data = obj['data'];
    if (isPlainObject(data)) {
      let size = 0;
      for (const [k, v] of Object.entries(data)) {
        if (!configKey.test(k)) {
          problems.push(invalid(`data[${k}]`, k, configKeyMessage));
        }
        if (typeof v === 'string' && !base64.test(v)) {
          problems.push(invalid(`data[${k}]`, '<secret contents redacted>', 'illegal base64 data'));
        }
        size += typeof v === 'string' ? v.length : 0;
      }
      if (size > (1024 * 1024 * 4) / 3) problems.push(tooLong('data', 1024 * 1024));
    }
    return problems;
  },
  validateUpdate: immutableData,
};
