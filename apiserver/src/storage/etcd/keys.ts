// Store keys as etcd byte ranges: every key lives under the store's root prefix, and a key prefix becomes
// etcd's [key, range_end) pair.

import { InvalidArgumentError } from '@berth/api';

/** The etcd key range holding every key under `prefix` (etcd's "\0".."\0" is the whole key space). */
export interface KeyRange {
  readonly key: Buffer;
  readonly range_end: Buffer;
}

export class KeySpace {
  private readonly root: string;

  /** `root` is '' or ends with '/', so one store's keys never share a prefix with another's. */
  constructor(root: string) {
    if (root !== '' && !root.endsWith('/')) {
      throw new InvalidArgumentError(`etcd key prefix must be empty or end with "/", got ${JSON.stringify(root)}`);
    }
    this.root = root;
  }

  toEtcd(key: string): Buffer {
    return Buffer.from(this.root + key, 'utf8');
  }

  fromEtcd(key: Buffer): string {
    return key.toString('utf8').slice(this.root.length);
  }

  /** Keys starting with `prefix`. */
  range(prefix: string): KeyRange {
    const start = this.toEtcd(prefix);
    return start.length === 0
      ? { key: Buffer.from([0]), range_end: Buffer.from([0]) }
      : { key: start, range_end: prefixEnd(start) };
  }

  /** Keys under `prefix` that sort after `key`. */
  rangeAfter(prefix: string, key: string): KeyRange {
    return { key: Buffer.concat([this.toEtcd(key), Buffer.from([0])]), range_end: this.range(prefix).range_end };
  }
}

/** The smallest byte string above every one starting with `start`; "\0" (the end of the key space) if none. */
function prefixEnd(start: Buffer): Buffer {
  const end = Buffer.from(start);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
