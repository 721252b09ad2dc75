// Runs CNI plugins as the CNI spec (1.0) says: the plugin binary from CNI_PATH, the command and the container in
// CNI_* variables, the network configuration on stdin, the result (or a CNI error) as JSON on stdout.
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { runCommand } from '../host/run-command.js';
import { NetworkError } from './errors.js';

export const CNI_VERSION = '1.0.0';

/** One plugin's configuration within a conflist (`type` names the binary). */
export interface PluginConfig {
  readonly type: string;
  readonly [key: string]: unknown;
}

/** A network configuration list: the plugins run in order on ADD, in reverse on DEL. */
export interface NetworkConfigList {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: readonly PluginConfig[];
}

/** The parts of a CNI result berth reads. */
export interface CniResult {
  readonly cniVersion: string;
  readonly interfaces?: ReadonlyArray<{ readonly name: string; readonly mac?: string; readonly sandbox?: string }>;
  readonly ips?: ReadonlyArray<{ readonly address: string; readonly gateway?: string; readonly interface?: number }>;
  readonly [key: string]: unknown;
}

export interface CniRuntimeArgs {
  readonly containerId: string;
  readonly netns: string;
  readonly ifName: string;
}

export interface CniOptions {
  /** Where the plugin binaries are. @default ['/usr/lib/cni'] (Debian's containernetworking-plugins) */
  readonly pluginDirs?: readonly string[];
}

const DEFAULT_PLUGIN_DIRS = ['/usr/lib/cni', '/opt/cni/bin'];

/** Calls the plugins of a conflist; one instance serves every network of the node. */
export class Cni {
  readonly #dirs: readonly string[];

  constructor(options: CniOptions = {}) {
    this.#dirs = options.pluginDirs ?? DEFAULT_PLUGIN_DIRS;
  }

  /** ADD each plugin in order, each given the previous one's result; returns the last result. */
  async add(list: NetworkConfigList, args: CniRuntimeArgs): Promise<CniResult> {
    let prev: CniResult | undefined;
    for (const plugin of list.plugins) {
      prev = await this.#exec('ADD', list, plugin, args, prev);
    }
    if (prev === undefined) throw new NetworkError('InvalidNetwork', `network ${list.name} has no plugins`);
    return prev;
  }

  /** DEL each plugin in reverse, with the cached result when there is one; a plugin's failure is thrown after all ran. */
  async del(list: NetworkConfigList, args: CniRuntimeArgs, prevResult: CniResult | undefined): Promise<void> {
    let first: unknown;
    for (const plugin of [...list.plugins].reverse()) {
      try {
        await this.#exec('DEL', list, plugin, args, prevResult);
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }

  async #exec(
    command: 'ADD' | 'DEL' | 'CHECK',
    list: NetworkConfigList,
    plugin: PluginConfig,
    args: CniRuntimeArgs,
    prevResult: CniResult | undefined,
  ): Promise<CniResult> {
    // The runtime injects name, cniVersion and prevResult into each plugin's config (spec: "Network configuration list").
    const config = {
      ...plugin,
      cniVersion: list.cniVersion,
      name: list.name,
      ...(prevResult !== undefined ? { prevResult } : {}),
    };
    const env: NodeJS.ProcessEnv = {
      // Plugins run iptables and friends from PATH.
      PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: args.containerId,
      CNI_NETNS: args.netns,
      CNI_IFNAME: args.ifName,
      CNI_PATH: this.#dirs.join(':'),
    };
    const binary = await this.#find(plugin.type);
    const out = await runCommand(binary, [], { env, input: JSON.stringify(config) });
    if (out.code !== 0) {
      let detail = out.stderr.trim() || `exit ${out.code ?? out.signal}`;
      try {
        const e = JSON.parse(out.stdout) as { code?: number; msg?: string; details?: string };
        if (e.msg !== undefined) detail = `${e.msg}${e.details ? `: ${e.details}` : ''} (CNI error ${e.code ?? '?'})`;
      } catch {
        // Not JSON: stderr says it.
      }
      throw new NetworkError(
        'NetworkPluginFailed',
        `CNI ${plugin.type} ${command} on network ${list.name} failed: ${detail}`,
      );
    }
    if (command !== 'ADD') return prevResult ?? { cniVersion: list.cniVersion };
    try {
      return JSON.parse(out.stdout) as CniResult;
    } catch (err) {
      throw new NetworkError(
        'NetworkPluginFailed',
        `CNI ${plugin.type} ADD on network ${list.name} printed no JSON result`,
        { cause: err },
      );
    }
  }

  readonly #found = new Map<string, string>();

  async #find(type: string): Promise<string> {
    if (!/^[a-z0-9_-]+$/i.test(type))
      throw new NetworkError('InvalidNetwork', `CNI plugin type ${JSON.stringify(type)} is not a plugin name`);
    const hit = this.#found.get(type);
    if (hit !== undefined) return hit;
    for (const dir of this.#dirs) {
      const candidate = path.join(dir, type);
      try {
        await access(candidate, constants.X_OK);
        this.#found.set(type, candidate);
        return candidate;
      } catch {
        // Next directory.
      }
    }
    throw new NetworkError(
      'NetworkPluginFailed',
      `CNI plugin ${type} not found in ${this.#dirs.join(', ')} (Debian package containernetworking-plugins)`,
    );
  }
}
