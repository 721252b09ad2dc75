// Reads which cgroup hierarchies the host has mounted (v1, v2 or a hybrid of both) from mountinfo.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export type CgroupMode = 'v1' | 'v2' | 'hybrid';

export interface CgroupLayout {
  readonly mode: CgroupMode;
  /** v1 controller (or `name=systemd`) → where its hierarchy is mounted. */
  readonly v1: ReadonlyMap<string, string>;
  /** Where the cgroup2 hierarchy is mounted, if at all (`/sys/fs/cgroup/unified` on hybrid hosts). */
  readonly unifiedMount: string | undefined;
  /** Controllers bound to the cgroup2 hierarchy (its `cgroup.controllers`). */
  readonly unifiedControllers: readonly string[];
}

interface MountEntry {
  readonly mountPoint: string;
  readonly fsType: string;
  readonly superOptions: readonly string[];
}

/** mountinfo escapes spaces, tabs, newlines and backslashes in paths as octal. */
function unescapeMountPath(raw: string): string {
  return raw.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const mountPoint = left[4];
    const fsType = right[0];
    if (mountPoint === undefined || fsType === undefined) continue;
    entries.push({ mountPoint: unescapeMountPath(mountPoint), fsType, superOptions: (right[2] ?? '').split(',') });
  }
  return entries;
}

const V1_NON_CONTROLLER_OPTIONS = new Set([
  'rw',
  'ro',
  'nosuid',
  'nodev',
  'noexec',
  'relatime',
  'xattr',
  'clone_children',
  'noprefix',
]);

/** Classifies mountinfo text; `unifiedControllers` is read separately because it lives in the hierarchy. */
export function classifyCgroupMounts(mountinfo: string): {
  mode: CgroupMode;
  v1: Map<string, string>;
  unifiedMount: string | undefined;
} {
  const v1 = new Map<string, string>();
  let unifiedMount: string | undefined;
  for (const m of parseMountInfo(mountinfo)) {
    if (m.fsType === 'cgroup2') {
      // Several bind mounts of cgroup2 can exist (e.g. in nested setups); the shortest path is the host's.
      if (unifiedMount === undefined || m.mountPoint.length < unifiedMount.length) unifiedMount = m.mountPoint;
    } else if (m.fsType === 'cgroup') {
      for (const opt of m.superOptions) {
        if (V1_NON_CONTROLLER_OPTIONS.has(opt) || opt.startsWith('release_agent=')) continue;
        if (!v1.has(opt)) v1.set(opt, m.mountPoint);
      }
    }
  }
  const hasV1Controllers = [...v1.keys()].some((k) => !k.startsWith('name='));
  const mode: CgroupMode = hasV1Controllers ? (unifiedMount === undefined ? 'v1' : 'hybrid') : 'v2';
  return { mode, v1, unifiedMount };
}

export async function detectCgroupLayout(mountinfoPath = '/proc/self/mountinfo'): Promise<CgroupLayout> {
  const { mode, v1, unifiedMount } = classifyCgroupMounts(await readFile(mountinfoPath, 'utf8'));
  let unifiedControllers: string[] = [];
  if (unifiedMount !== undefined) {
    try {
      const text = await readFile(path.join(unifiedMount, 'cgroup.controllers'), 'utf8');
      unifiedControllers = text.split(/\s+/).filter((s) => s !== '');
    } catch {
      unifiedControllers = [];
    }
  }
  return { mode, v1, unifiedMount, unifiedControllers };
}

/** The directory of a container's cgroup for one v1 controller, or undefined when that controller is not mounted. */
export function v1CgroupDir(layout: CgroupLayout, controller: string, cgroupsPath: string): string | undefined {
  const mount = layout.v1.get(controller);
  return mount === undefined ? undefined : path.join(mount, cgroupsPath);
}
