// Id ranges of hostUsers: false: disjoint across containers and across agents sharing a lease directory, kept by a
// new instance (an agent restart) and after the leases were lost (a reboot empties /run), given back on release.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { UserNamespaceError } from '../../src/user-namespaces/errors.js';
import { IdRanges, RANGE_SIZE } from '../../src/user-namespaces/id-ranges.js';

const dir = await mkdtemp(path.join(tmpdir(), 'berth-id-ranges-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const leaseDir = path.join(dir, 'leases');
const first = 2 ** 30;

t.test('ranges are disjoint, kept across instances and lost leases, and reused once given back', async (t) => {
  const a = new IdRanges({ dataRoot: path.join(dir, 'node-a'), leaseDir, count: 4 });
  const b = new IdRanges({ dataRoot: path.join(dir, 'node-b'), leaseDir, count: 4 });
  const one = a.allocate('one');
  const two = a.allocate('two');
  const other = b.allocate('one');
  t.same(one, { hostId: first, size: RANGE_SIZE });
  t.same(
    [two.hostId, other.hostId],
    [first + RANGE_SIZE, first + 2 * RANGE_SIZE],
    "another container, and another agent's container of the same id, get ranges of their own",
  );
  t.same(a.allocate('one'), one, 'asking again gives the same range');
  t.same(
    new IdRanges({ dataRoot: path.join(dir, 'node-a'), leaseDir, count: 4 }).allocate('two'),
    two,
    'so does a restarted agent',
  );

  await rm(leaseDir, { recursive: true });
  const afterReboot = new IdRanges({ dataRoot: path.join(dir, 'node-a'), leaseDir, count: 4 });
  t.same(afterReboot.allocate('two'), two, 'with the leases gone, a container takes its recorded range back');
  t.same(afterReboot.allocate('one'), one);
  t.same(b.allocate('one'), other);

  t.same(a.allocate('three'), { hostId: first + 3 * RANGE_SIZE, size: RANGE_SIZE });
  t.throws(() => a.allocate('four'), { code: 'NO_FREE_RANGE' }, 'no range is ever handed out twice');
  t.ok(UserNamespaceError.isInstance(t.throws(() => a.allocate('four'))), 'as a UserNamespaceError');
  t.same(a.ids().sort(), ['one', 'three', 'two']);

  await a.release('two');
  t.notOk(existsSync(path.join(dir, 'node-a', 'userns-ranges', 'two')), 'its record is gone');
  t.same(a.allocate('four'), two, 'a range given back is handed out again');
  await a.release('never-had-one');
  t.same((await readdir(leaseDir)).sort(), ['0', '1', '2', '3']);
});

t.test('options are checked before anything is written', async (t) => {
  t.throws(() => new IdRanges({ dataRoot: dir, leaseDir, firstHostId: 1000 }), { code: 'NO_FREE_RANGE' });
  t.throws(() => new IdRanges({ dataRoot: dir, leaseDir, count: 2 ** 17 }), { code: 'NO_FREE_RANGE' });
  t.throws(() => new IdRanges({ dataRoot: dir, leaseDir }).allocate('../x'), { code: 'NO_FREE_RANGE' });
});
