// Builds a minimal busybox root filesystem from Debian's busybox-static, for runtime tests that must not depend on image code.
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Fills `dir` with /bin/busybox, its applet symlinks, /etc/passwd and /etc/group. */
export async function makeBusyboxRootfs(dir: string): Promise<void> {
  for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'home/user'])
    await mkdir(path.join(dir, d), { recursive: true });
  await chmod(path.join(dir, 'tmp'), 0o1777);
  await copyFile('/bin/busybox', path.join(dir, 'bin/busybox'));
  await chmod(path.join(dir, 'bin/busybox'), 0o755);
  const { stdout } = await run('/bin/busybox', ['--list']);
  for (const applet of stdout.split('\n')) {
    if (applet === '' || applet === 'busybox') continue;
    await symlink('busybox', path.join(dir, 'bin', applet)).catch(() => undefined);
  }
  await writeFile(
    path.join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n',
  );
  await writeFile(path.join(dir, 'etc/group'), 'root:x:0:\ntty:x:5:\nuser:x:1000:\n');
}

/** A throwaway data root with a prepared rootfs for each container id asked for. */
export async function makeDataRoot(
  prefix = 'berth-rt-',
): Promise<{ root: string; runtimeRoot: string; rootfsFor(id: string): Promise<string>; cleanup(): Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), prefix));
  const runtimeRoot = path.join(root, 'run');
  return {
    root,
    runtimeRoot,
    async rootfsFor(id: string): Promise<string> {
      const rootfs = path.join(root, 'containers', id, 'rootfs');
      await makeBusyboxRootfs(rootfs);
      return rootfs;
    },
    async cleanup(): Promise<void> {
      await rm(root, { recursive: true, force: true });
    },
  };
}
