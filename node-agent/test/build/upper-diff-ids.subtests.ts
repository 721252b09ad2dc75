// A commit of a container with a user namespace of its own: its upper dir's files carry the range's node ids, and
// the layer gets the container's own ids back.
import { chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { upperDirEntries } from '../../src/build/upper-diff.js';

t.test("the layer of a user namespace's upper dir has the container's ids, not the node's", async (t) => {
  const upper = await mkdtemp(path.join(tmpdir(), 'berth-upper-ids-'));
  t.teardown(() => rm(upper, { recursive: true, force: true }));
  const hostId = 2 ** 30;
  await mkdir(path.join(upper, 'home'));
  await writeFile(path.join(upper, 'home', 'mine'), 'x');
  await writeFile(path.join(upper, 'outside'), 'y');
  await chown(path.join(upper, 'home'), hostId, hostId);
  await chown(path.join(upper, 'home', 'mine'), hostId + 1000, hostId + 1000);
  await chown(path.join(upper, 'outside'), 7, 7);
  const ids = async (range?: { hostId: number; size: number }) => {
    const out: Record<string, [number, number]> = {};
    for await (const e of upperDirEntries(upper, range))
      if ('uid' in e && e.uid !== undefined) out[e.name] = [e.uid, e.gid ?? -1];
    return out;
  };
  t.same(await ids({ hostId, size: 65536 }), { home: [0, 0], 'home/mine': [1000, 1000], outside: [7, 7] });
  t.same(
    await ids(),
    { home: [hostId, hostId], 'home/mine': [hostId + 1000, hostId + 1000], outside: [7, 7] },
    'without a range, as they are on disk',
  );
});
