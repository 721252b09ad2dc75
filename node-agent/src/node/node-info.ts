// What this machine offers and runs, read from the kernel and the tools prepareHost found, as a v1 Node's status.
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { type Condition, goArchitecture } from '@berth/api';
import type { HostReport } from '../host/prepare-host.js';

/** A v1 NodeCondition as it travels in JSON (times as RFC 3339 strings). */
export interface NodeCondition extends Condition {
  lastHeartbeatTime?: string;
}

/** The part of a v1 NodeStatus the agent writes; `monitorVersion`, `cgroupVersion`, `agentEndpoint` are berth's. */
export interface NodeStatus {
  capacity?: Record<string, string>;
  allocatable?: Record<string, string>;
  addresses?: { type: string; address: string }[];
  conditions?: NodeCondition[];
  nodeInfo?: {
    machineID: string;
    systemUUID: string;
    bootID: string;
    kernelVersion: string;
    osImage: string;
    containerRuntimeVersion: string;
    kubeletVersion: string;
    kubeProxyVersion: string;
    operatingSystem: string;
    architecture: string;
    monitorVersion: string;
    cgroupVersion: string;
    /** How container filesystems are made (`docker info`'s Storage Driver). */
    storageDriver: string;
    /** What every container is confined by (`docker info`'s Security Options). */
    securityOptions: string[];
  };
  daemonEndpoints?: { kubeletEndpoint?: { Port: number }; agentEndpoint?: { address: string } };
}

async function readTrimmed(file: string): Promise<string | undefined> {
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

async function osImage(): Promise<string> {
  const text = (await readTrimmed('/etc/os-release')) ?? '';
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
  return m?.[1] ?? 'Linux';
}

/** `crun version 1.8.1` → `crun://1.8.1`, the form kubelet reports runtimes in. */
function toolVersion(name: string, versionLine: string): string {
  const m = /(\d+\.\d+(?:\.\d+)?\S*)/.exec(versionLine);
  return `${name}://${m?.[1] ?? 'unknown'}`;
}

/** This machine's architecture in Kubernetes' (Go's) words: `amd64`, `arm64`, … */
export function nodeArchitecture(): string {
  return goArchitecture(os.arch());
}

/** The node-agent package's version (the same relative path from src/ and dist/). */
export async function agentVersion(): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return `v${typeof pkg.version === 'string' ? pkg.version : '0.0.0'}`;
  } catch {
    return 'v0.0.0';
  }
}

/** The node's InternalIP: containers reach the node's services on loopback here (what a Pod's hostIP says). */
export const nodeInternalIP = '127.0.0.1';

/** Capacity, addresses, system info and endpoint of this node; conditions are the caller's. */
export async function machineStatus(host: HostReport, endpointAddress: string): Promise<NodeStatus> {
  const pidMax = Number((await readTrimmed('/proc/sys/kernel/pid_max')) ?? '32768');
  const capacity = {
    cpu: String(os.availableParallelism()),
    memory: `${Math.floor(os.totalmem() / 1024)}Ki`,
    pids: String(pidMax),
  };
  return {
    capacity,
    // Nothing is reserved for the system yet.
    allocatable: { ...capacity },
    addresses: [
      { type: 'InternalIP', address: nodeInternalIP },
      { type: 'Hostname', address: os.hostname() },
    ],
    nodeInfo: {
      machineID: (await readTrimmed('/etc/machine-id')) ?? '',
      systemUUID: (await readTrimmed('/sys/class/dmi/id/product_uuid')) ?? '',
      bootID: (await readTrimmed('/proc/sys/kernel/random/boot_id')) ?? '',
      kernelVersion: os.release(),
      osImage: await osImage(),
      operatingSystem: 'linux',
      architecture: nodeArchitecture(),
      containerRuntimeVersion: toolVersion(host.runtime.name, host.runtime.version),
      // The agent is this node's kubelet: `kubectl get nodes` prints its version in VERSION.
      kubeletVersion: await agentVersion(),
      kubeProxyVersion: '',
      monitorVersion: toolVersion('conmon', host.conmon.version),
      cgroupVersion: host.cgroups.mode,
      // Writable layers are overlay mounts (snapshots/overlay.ts); the OCI spec gives every container the builtin
      // seccomp profile (when the kernel has seccomp) and no_new_privs (runtime/oci-spec.ts).
      storageDriver: 'overlay',
      securityOptions: [
        ...(/^Seccomp:/m.test((await readTrimmed('/proc/self/status')) ?? '') ? ['name=seccomp,profile=builtin'] : []),
        'name=no-new-privileges',
      ],
    },
    // No kubelet port: logs, exec and attach go through the agent's socket, relayed by the API server.
    daemonEndpoints: { kubeletEndpoint: { Port: 0 }, agentEndpoint: { address: endpointAddress } },
  };
}
