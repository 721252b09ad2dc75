// Ranges of node ids for containers with a user namespace of their own: 65536 ids each, disjoint across every agent
// on this node, kept while the Container exists (restarts of its process and of the agent keep it).
//
// A lease is a file `<leaseDir>/<n>` made with O_EXCL, naming its owner (data root and container id): the node's
// leases are shared as host-local IPAM's are (/run/berth/ipam), so two agents of one node never hand out one range.
// The container's own record `<dataRoot>/userns-ranges/<id>` remembers which range it had, so after a reboot
// emptied /run it takes the same one back when it is free.
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserNamespaceError } from './errors.js';
import { closeUserNamespaceFd, type IdRange } from './userns-fd.js';

/** Kubernetes' size: every id a 16-bit-uid image uses. */
export const RANGE_SIZE = 65536;

export interface IdRangesOptions {
  /** The agent's data root: records live under `<dataRoot>/userns-ranges`. */
  readonly dataRoot: string;
  /** Leases shared by every agent of the node. @default '/run/berth/userns' */
  readonly leaseDir?: string;
  /** The first node id handed out; far above the ids of users and of /etc/subuid's usual ranges. @default 2^30 */
  readonly firstHostId?: number;
  /** How many ranges there are. @default 16384 (up to 2^31, below the ids tools read as negative) */
  readonly count?: number;
}

interface Owner {
  readonly root: string;
  readonly id: string;
}

const idPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

const readOptional = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
};

/** Hands out and takes back the node's id ranges. */
export class IdRanges {
  readonly #records: string;
  readonly #leases: string;
  readonly #root: string;
  readonly #first: number;
  readonly #count: number;

  constructor(options: IdRangesOptions) {
    this.#root = path.resolve(options.dataRoot);
    this.#records = path.join(this.#root, 'userns-ranges');
    this.#leases = options.leaseDir ?? '/run/berth/userns';
    this.#first = options.firstHostId ?? 2 ** 30;
    this.#count = options.count ?? 16384;
    if (!Number.isSafeInteger(this.#first) || this.#first < RANGE_SIZE || this.#first % RANGE_SIZE !== 0)
      throw new UserNamespaceError('NO_FREE_RANGE', `firstHostId ${this.#first} must be a multiple of ${RANGE_SIZE}`);
    if (this.#first + this.#count * RANGE_SIZE > 2 ** 32 - 1)
      throw new UserNamespaceError('NO_FREE_RANGE', 'the ranges must end below 2^32 - 1');
  }

  #owner(id: string): string {
    return JSON.stringify({ root: this.#root, id } satisfies Owner);
  }

  #record(id: string): string {
    if (!idPattern.test(id))
      throw new UserNamespaceError('NO_FREE_RANGE', `invalid container id ${JSON.stringify(id)}`);
    return path.join(this.#records, id);
  }

  #range(index: number): IdRange {
    return { hostId: this.#first + index * RANGE_SIZE, size: RANGE_SIZE };
  }

  /** Takes lease `index` for `id`: true when it is now, or already was, `id`'s. */
  #take(index: number, id: string): boolean {
    const file = path.join(this.#leases, String(index));
    try {
      writeFileSync(file, this.#owner(id), { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
      return readOptional(file) === this.#owner(id);
    }
  }

  /** The range of container `id`: the one it had, else the lowest free. */
  allocate(id: string): IdRange {
    const record = this.#record(id);
    mkdirSync(this.#records, { recursive: true, mode: 0o700 });
    mkdirSync(this.#leases, { recursive: true, mode: 0o700 });
    const had = readOptional(record);
    if (had !== undefined) {
      const { hostId } = JSON.parse(had) as IdRange;
      const index = (hostId - this.#first) / RANGE_SIZE;
      if (Number.isSafeInteger(index) && index >= 0 && index < this.#count && this.#take(index, id))
        return this.#range(index);
    }
    const taken = new Set(readdirSync(this.#leases));
    for (let index = 0; index < this.#count; index++) {
      if (taken.has(String(index)) || !this.#take(index, id)) continue;
      const range = this.#range(index);
      const tmp = `${record}.tmp`;
      writeFileSync(tmp, JSON.stringify(range));
      renameSync(tmp, record);
      return range;
    }
    throw new UserNamespaceError('NO_FREE_RANGE', `all ${this.#count} user namespace ranges of this node are in use`);
  }

  /** The range `id` holds, if any. */
  get(id: string): IdRange | undefined {
    const had = readOptional(this.#record(id));
    return had === undefined ? undefined : (JSON.parse(had) as IdRange);
  }

  /** Gives `id`'s range back (its lease, its record, its namespace fd); nothing held is fine. */
  async release(id: string): Promise<void> {
    const range = this.get(id);
    if (range === undefined) return;
    const lease = path.join(this.#leases, String((range.hostId - this.#first) / RANGE_SIZE));
    if (readOptional(lease) === this.#owner(id)) unlinkSync(lease);
    unlinkSync(this.#record(id));
    await closeUserNamespaceFd(range);
  }

  /** Container ids holding a range under this data root (for the orphan sweep). */
  ids(): string[] {
    try {
      return readdirSync(this.#records).filter((n) => idPattern.test(n) && !n.endsWith('.tmp'));
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return [];
      throw error;
    }
  }
}
