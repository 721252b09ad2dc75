// Host preparation on this machine (root): the cgroup layout is detected, not assumed, and fixing it is idempotent.
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { classifyCgroupMounts, detectCgroupLayout } from '../../src/host/cgroup-layout.js';
import { ownHardLimit, prepareHost } from '../../src/host/prepare-host.js';

const HYBRID = `30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const V2 = `30 22 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;
const V1 = `31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
`;

t.test('layouts are told apart from mountinfo', async (t) => {
  const hybrid = classifyCgroupMounts(HYBRID);
  t.equal(hybrid.mode, 'hybrid');
  t.equal(hybrid.unifiedMount, '/sys/fs/cgroup/unified');
  t.equal(hybrid.v1.get('memory'), '/sys/fs/cgroup/memory');
  t.equal(hybrid.v1.get('name=systemd'), '/sys/fs/cgroup/systemd');
  t.notOk(hybrid.v1.has('xattr'), 'mount options are not controllers');
  t.equal(classifyCgroupMounts(V2).mode, 'v2');
  const v1 = classifyCgroupMounts(V1);
  t.equal(v1.mode, 'v1');
  t.equal(v1.v1.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct');
});

t.test('this machine: detection agrees with /proc/self/mountinfo', async (t) => {
  const layout = await detectCgroupLayout();
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
  const hasCgroup2 = / - cgroup2 /.test(mountinfo);
  const hasV1Memory = / - cgroup cgroup [^\n]*\bmemory\b/.test(mountinfo);
  t.equal(layout.mode, hasV1Memory ? (hasCgroup2 ? 'hybrid' : 'v1') : 'v2');
  if (layout.mode === 'hybrid') t.ok(layout.unifiedMount !== undefined);
});

t.test('prepareHost makes crun usable and is idempotent', async (t) => {
  const first = await prepareHost();
  const second = await prepareHost();
  t.same(second.actions, [], 'a second run changes nothing');
  if (first.cgroups.mode !== 'v2') {
    t.ok(second.cgroups.v1.has('hugetlb'), 'hugetlb has a v1 hierarchy');
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .filter((l) => / - cgroup cgroup [^\n]*hugetlb/.test(l));
    t.equal(mounts.length, 1, 'mounted once, not stacked');
  }
  t.match(second.runtime.name, /^(crun|runc)$/);
  t.match(second.runtime.version, /version \d+\.\d+/);
  t.match(second.conmon.version, /conmon version \d+\.\d+/);
  t.equal(second.nofileHardLimit, await ownHardLimit('Max open files'));
  t.ok(second.nofileHardLimit > 0);
});
