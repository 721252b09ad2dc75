// The two peers every container-start benchmark measures berth against: bare `crun run -d` on a spec written
// beforehand, and `podman run -d` on the same rootfs. Each call times one start, then removes it untimed.

import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HostReport } from '../node-agent/src/host/prepare-host.js';
import { containerConfigToOciSpec, hostsFileFor, resolvConfFor } from '../node-agent/src/runtime/oci-spec.js';
import type { ContainerConfig } from '../node-agent/src/runtime/runtime.js';
import { exitOf } from './timing.js';

const execFileAsync = promisify(execFile);

export interface StartPeers {
  /** Milliseconds for `crun run -d` of `config` as container `id`. */
  crun(id: string): Promise<number>;
  /**
   * Milliseconds for `podman run -d` of `sleep 1000` on the same rootfs as container `id`; `network` is podman's
   * --network (default 'none'; 'bridge' is its default bridge network), `publish` its -p.
   */
  podman(id: string, options?: { readonly network?: 'none' | 'bridge'; readonly publish?: string }): Promise<number>;
  /** Force-removes whatever a failed run left: everything in crun's state dir, podman containers named `prefix…`. */
  cleanUp(prefix: string): Promise<void>;
}

export function startPeers(host: HostReport, work: string, rootfs: string, config: ContainerConfig): StartPeers {
  const crunRoot = join(work, 'crun-run');
  const podmanGlobal = ['--cgroup-manager=cgroupfs', '--events-backend=file'];
  // podman asks for rlimits above root's own hard limits here unless told; these match what berth sets.
  const limits = ['--ulimit', `nofile=${host.nofileHardLimit}:${host.nofileHardLimit}`, '--ulimit', 'nproc=4096:4096'];
  return {
    async crun(id) {
      const bundle = join(work, 'bundles', id);
      await mkdir(bundle, { recursive: true });
      const etcFiles = {
        hosts: join(bundle, 'hosts'),
        hostname: join(bundle, 'hostname'),
        resolvConf: join(bundle, 'resolv.conf'),
      };
      await writeFile(etcFiles.hosts, hostsFileFor('bench'));
      await writeFile(etcFiles.hostname, 'bench\n');
      await writeFile(etcFiles.resolvConf, resolvConfFor());
      const spec = containerConfigToOciSpec(id, config, { rootfs, etcFiles, nofileHardLimit: host.nofileHardLimit });
      await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
      const t0 = performance.now();
      const c = await exitOf(host.runtime.path, [`--root=${crunRoot}`, 'run', '-d', '--bundle', bundle, id]);
      const ms = performance.now() - t0;
      if (c.code !== 0) throw new Error(`crun run failed: ${c.stderr}`);
      await execFileAsync(host.runtime.path, [`--root=${crunRoot}`, 'delete', '--force', id]);
      await rm(bundle, { recursive: true, force: true });
      return ms;
    },
    async podman(id, options = {}) {
      const net = [
        '--network',
        options.network ?? 'none',
        ...(options.publish !== undefined ? ['-p', options.publish] : []),
      ];
      const t0 = performance.now();
      const p = await exitOf('podman', [
        ...podmanGlobal,
        'run',
        '-d',
        '--name',
        id,
        ...net,
        ...limits,
        '--rootfs',
        rootfs,
        'sleep',
        '1000',
      ]);
      const ms = performance.now() - t0;
      if (p.code !== 0) throw new Error(`podman run failed: ${p.stderr}`);
      await execFileAsync('podman', [...podmanGlobal, 'rm', '-f', '-t', '0', id]);
      return ms;
    },
    async cleanUp(prefix) {
      const left = await execFileAsync(host.runtime.path, [`--root=${crunRoot}`, 'list', '-q']).catch(() => ({
        stdout: '',
      }));
      for (const name of left.stdout.split('\n').filter((n) => n !== '')) {
        await execFileAsync(host.runtime.path, [`--root=${crunRoot}`, 'delete', '--force', name]).catch(
          () => undefined,
        );
      }
      await execFileAsync('podman', [...podmanGlobal, 'rm', '-f', '-t', '0', '--filter', `name=${prefix}`]).catch(
        () => undefined,
      );
    },
  };
}
