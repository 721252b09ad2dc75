// Networks on the standard CNI plugins: bridge + host-local IPAM for each network, portmap for published ports,
// each container in a named network namespace. What was done for a container is recorded in a JSON file before
// the first plugin runs, so a DEL can undo it after any crash or restart; each network a container joined is
// recorded too, so its bridge and leases can be removed once the network is gone from the cluster.
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatIpv4, parseIpv4Cidr } from '@berth/api';
import { runCommand } from '../host/run-command.js';
import { Cni, CNI_VERSION, type CniResult, type NetworkConfigList, type PluginConfig } from './cni.js';
import { NetworkError } from './errors.js';
import { isolateBridge, removeBridgeIsolation } from './isolation.js';
import { masqueradeNetwork, removeNetworkMasquerade } from './masquerade.js';
import { NetnsDir } from './netns.js';
import type {
  Attachment,
  AttachRequest,
  NetworkAddress,
  NetworkDefinition,
  Networks,
  PortMapping,
  RecordedNetwork,
} from './network.js';
import { PortHolders, portsClash } from './port-holders.js';
import { ensureTunnel, removeTunnel, tunnelDeviceName } from './vxlan.js';

export interface CniNetworksOptions {
  /** Attachment records live here (one JSON file per container). */
  readonly stateDir: string;
  /**
   * Network namespaces are bind-mounted here (a tmpfs such as /run: they do not outlive a reboot). Every id found
   * here is this instance's to clean up, so two agents must not share it.
   */
  readonly netnsDir: string;
  /**
   * host-local's leases. Share it between agents that share a bridge (its lock serialises them), and keep it where
   * veths and namespaces live (a tmpfs): a lease means as long as they do. @default `<stateDir>/ipam`
   */
  readonly ipamDir?: string;
  readonly cni?: Cni;
}

interface AttachedNetwork {
  readonly name: string;
  readonly ifName: string;
  readonly config: NetworkConfigList;
  /** Set once ADD succeeded. */
  result?: CniResult;
}

/** The file kept per container. */
interface AttachmentRecord {
  readonly id: string;
  readonly netns: string;
  readonly networks: AttachedNetwork[];
  readonly ports: readonly PortMapping[];
  complete: boolean;
}

const BRIDGE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/;
const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

function checkDefinition(net: NetworkDefinition): void {
  const m = CIDR.exec(net.subnet);
  if (m === null || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 30 || Number(m[5]) < 8) {
    throw new NetworkError(
      'InvalidNetwork',
      `network ${net.name}: subnet ${JSON.stringify(net.subnet)} is not an IPv4 CIDR with a prefix of 8 to 30`,
    );
  }
  if (!BRIDGE_NAME.test(net.bridge))
    throw new NetworkError(
      'InvalidNetwork',
      `network ${net.name}: bridge name ${JSON.stringify(net.bridge)} must be 1-15 of [a-zA-Z0-9_.-]`,
    );
}

/** The conflist for one network of one container: bridge with host-local IPAM, then portmap when ports are published. */
export function configList(net: NetworkDefinition, ports: readonly PortMapping[], ipamDir: string): NetworkConfigList {
  const range = {
    subnet: net.subnet,
    ...(net.gateway !== undefined ? { gateway: net.gateway } : {}),
    ...(net.ipRange !== undefined ? rangeBounds(net.subnet, net.ipRange) : {}),
  };
  const plugins: PluginConfig[] = [
    {
      type: 'bridge',
      bridge: net.bridge,
      // The bridge carries the gateway address even when internal: the network's name server listens there.
      isGateway: true,
      // One rule per network instead (masquerade.ts): the plugin's is a chain per container, made and removed each time.
      ipMasq: false,
      hairpinMode: true,
      ...(net.mtu !== undefined ? { mtu: net.mtu } : {}),
      ipam: {
        type: 'host-local',
        ranges: [[range]],
        // Internal: only the subnet's own route, nothing out.
        routes: net.internal === true ? [] : [{ dst: '0.0.0.0/0' }],
        dataDir: ipamDir,
      },
    },
  ];
  if (ports.length > 0) {
    plugins.push({
      type: 'portmap',
      // snat: masquerade connections from the host's loopback, and route_localnet on the bridge so 127.0.0.1 can be DNATed.
      snat: true,
      capabilities: { portMappings: true },
      runtimeConfig: {
        portMappings: ports.map((p) => ({
          hostPort: p.hostPort,
          containerPort: p.containerPort,
          protocol: p.protocol,
          ...(p.hostIP !== '0.0.0.0' ? { hostIP: p.hostIP } : {}),
        })),
      },
    });
  }
  return { cniVersion: CNI_VERSION, name: net.id ?? net.name, plugins };
}

/** host-local's rangeStart/rangeEnd for `ipRange`: its addresses, less the subnet's network and broadcast ones. */
function rangeBounds(subnet: string, ipRange: string): { rangeStart: string; rangeEnd: string } {
  const s = parseIpv4Cidr(subnet);
  const r = parseIpv4Cidr(ipRange);
  if (s === undefined || r === undefined || r.first < s.first || r.last > s.last)
    throw new NetworkError('InvalidNetwork', `ipRange ${ipRange} is not a CIDR inside subnet ${subnet}`);
  return {
    rangeStart: formatIpv4(Math.max(r.first, s.first + 1)),
    rangeEnd: formatIpv4(Math.min(r.last, s.last - 1)),
  };
}

function addressesOf(record: AttachmentRecord): NetworkAddress[] {
  const out: NetworkAddress[] = [];
  for (const n of record.networks) {
    const ip = n.result?.ips?.[0];
    if (ip === undefined) continue;
    out.push({ network: n.name, ip: ip.address.split('/')[0] ?? ip.address, gateway: ip.gateway, interface: n.ifName });
  }
  return out;
}

const toAttachment = (r: AttachmentRecord): Attachment => ({
  id: r.id,
  netns: r.netns,
  addresses: addressesOf(r),
  ports: r.ports,
});

export class CniNetworks implements Networks {
  readonly #recordsDir: string;
  readonly #networksDir: string;
  readonly #ipamDir: string;
  readonly #netns: NetnsDir;
  readonly #cni: Cni;
  /** Bridges whose isolation (and masquerade) rules this instance added: a start pays the iptables checks once per bridge. */
  readonly #isolated = new Set<string>();
  /** The sockets that keep each attachment's published host ports taken while its DNAT rules stand. */
  readonly #ports = new PortHolders();
  /** Port checks, records and network removals are serialised: two containers must not both win one port. */
  #portLock: Promise<unknown> = Promise.resolve();

  constructor(options: CniNetworksOptions) {
    this.#recordsDir = path.join(options.stateDir, 'attachments');
    this.#networksDir = path.join(options.stateDir, 'networks');
    this.#ipamDir = options.ipamDir ?? path.join(options.stateDir, 'ipam');
    this.#netns = new NetnsDir(options.netnsDir);
    this.#cni = options.cni ?? new Cni();
  }

  /** host-local's lease directory (one folder per network, one file per leased address). */
  get ipamDir(): string {
    return this.#ipamDir;
  }

  async sandbox(id: string): Promise<string> {
    return this.#netns.create(id);
  }

  async attach(id: string, request: AttachRequest): Promise<Attachment> {
    const existing = await this.#read(id);
    const sameNetworks =
      existing !== undefined &&
      existing.networks.map((n) => n.name).join('\n') === request.networks.map((n) => n.name).join('\n');
    if (existing?.complete === true && sameNetworks && (await this.#netns.exists(id))) return toAttachment(existing);
    // Half made (a crash mid-attach), its namespace gone (a reboot) or made for other networks (a stopped container
    // started after `berth network connect`): undo the plugins' part and start over. The namespace itself stays: the
    // runtime may be creating the container in it right now.
    if (existing !== undefined) await this.#delAll(existing);
    if (request.networks.length === 0) throw new NetworkError('InvalidNetwork', 'attach needs at least one network');
    for (const n of request.networks) checkDefinition(n);
    const ports = request.ports ?? [];
    const netns = this.#netns.pathOf(id);
    const record: AttachmentRecord = {
      id,
      netns,
      ports,
      complete: false,
      networks: request.networks.map((n, i) => ({
        name: n.name,
        ifName: `eth${i}`,
        config: configList(n, i === 0 ? ports : [], this.#ipamDir),
      })),
    };
    const claim = async () => {
      if (ports.length > 0) await this.#checkPorts(id, ports);
      try {
        for (const n of request.networks) {
          await this.#recordNetwork(n);
          // Before the bridge exists (the rules name it): no moment where another network's members reach this one's.
          const key = `${n.bridge}/${n.internal === true}/${n.masquerade === true}`;
          if (!this.#isolated.has(key)) {
            await isolateBridge(n.bridge, n.internal === true);
            if (n.masquerade === true && n.internal !== true) await masqueradeNetwork(n.bridge, n.subnet);
            this.#isolated.add(key);
          }
        }
        // Written before any plugin runs, so a crash in between leaves something detach can undo.
        await this.#write(record);
      } catch (err) {
        await this.#ports.release(id);
        throw err;
      }
    };
    await this.#serialised(claim);
    try {
      await this.#netns.create(id);
      for (const n of record.networks) {
        n.result = await this.#cni.add(n.config, { containerId: id, netns, ifName: n.ifName });
      }
      // The bridge exists now (the plugin made it): its VXLAN port joins it to the other nodes' bridges.
      for (const n of request.networks) if (n.tunnel !== undefined) await this.updateTunnel(n);
      record.complete = true;
      await this.#write(record);
      return toAttachment(record);
    } catch (err) {
      await this.detach(id).catch(() => undefined);
      throw err;
    }
  }

  async get(id: string): Promise<Attachment | undefined> {
    const r = await this.#read(id);
    return r === undefined ? undefined : toAttachment(r);
  }

  async detach(id: string): Promise<void> {
    const record = await this.#read(id);
    if (record !== undefined) await this.#delAll(record);
    await this.#netns.remove(id);
  }

  /** CNI DEL of every network of the record, then the record; kept while a DEL failed so the next try repeats it. */
  async #delAll(record: AttachmentRecord): Promise<void> {
    let failure: unknown;
    for (const n of [...record.networks].reverse()) {
      try {
        // DEL is safe for what never got ADDed: plugins ignore missing leases, veths and chains.
        await this.#cni.del(n.config, { containerId: record.id, netns: record.netns, ifName: n.ifName }, n.result);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
    await rm(this.#recordPath(record.id), { force: true });
    await this.#ports.release(record.id);
  }

  /**
   * Takes hold again of the host ports that recorded attachments publish (their DNAT rules outlive the agent's
   * process, its sockets do not). Answers what could not be held: a program took the port while the agent was down.
   */
  async holdPublishedPorts(): Promise<string[]> {
    // Under the port lock, as attach's check and hold are: no attach may take one of these ports meanwhile.
    return this.#serialised(async () => {
      const refused: string[] = [];
      for (const id of await this.list()) {
        const r = await this.#read(id);
        const taken = await this.#ports.hold(id, r?.ports ?? []);
        if (taken !== undefined)
          refused.push(
            `container ${id}: host port ${taken.port.hostIP}:${taken.port.hostPort}/${taken.port.protocol}: ${taken.code}`,
          );
      }
      return refused;
    });
  }

  /** Lets go of every held port, for the agent's shutdown: the attachments and their rules stay. */
  async releasePorts(): Promise<void> {
    await Promise.all((await this.list()).map((id) => this.#ports.release(id)));
  }

  async list(): Promise<string[]> {
    const ids = new Set(await this.#netns.list());
    try {
      for (const f of await readdir(this.#recordsDir)) if (f.endsWith('.json')) ids.add(f.slice(0, -'.json'.length));
    } catch {
      // Nothing recorded yet.
    }
    return [...ids];
  }

  /** The networks containers joined here and whose bridge may still exist. */
  async networks(): Promise<RecordedNetwork[]> {
    const out: RecordedNetwork[] = [];
    let files: string[] = [];
    try {
      files = await readdir(this.#networksDir);
    } catch {
      // None recorded yet.
    }
    for (const f of files) {
      if (!f.endsWith('.json')) continue;
      try {
        out.push(JSON.parse(await readFile(path.join(this.#networksDir, f), 'utf8')) as RecordedNetwork);
      } catch {
        // Torn by a crash mid-write: rewritten by the next attach.
      }
    }
    return out;
  }

  /**
   * Removes network `id` from this node: its bridge, its leases, its isolation rules, its record. False (and
   * nothing removed) while a
   * container's attachment still uses it.
   */
  async removeNetwork(id: string): Promise<boolean> {
    return this.#serialised(async () => {
      const recorded = (await this.networks()).find((n) => n.id === id);
      for (const other of await this.list()) {
        if ((await this.#read(other))?.networks.some((n) => n.config.name === id) === true) return false;
      }
      // host-local's folder of the network (its leases, last-reserved cursor and lock), then the bridge; the record
      // last, so a crash in between leaves it for the next try.
      await rm(path.join(this.#ipamDir, id), { recursive: true, force: true });
      if (recorded !== undefined) {
        const out = await runCommand('ip', ['link', 'del', recorded.bridge]);
        if (out.code !== 0 && !/Cannot find device/i.test(out.stderr))
          throw new NetworkError(
            'NetworkPluginFailed',
            `deleting bridge ${recorded.bridge} failed: ${out.stderr.trim()}`,
          );
      }
      if (recorded?.tunnelDevice !== undefined) await removeTunnel(recorded.tunnelDevice);
      if (recorded !== undefined) {
        await removeBridgeIsolation(recorded.bridge);
        await removeNetworkMasquerade(recorded.bridge);
        for (const key of this.#isolated) if (key.startsWith(`${recorded.bridge}/`)) this.#isolated.delete(key);
      }
      await rm(this.#networkPath(id), { force: true });
      return true;
    });
  }

  async updateTunnel(net: NetworkDefinition): Promise<void> {
    if (net.tunnel === undefined) return;
    const recorded = (await this.networks()).find((n) => n.id === (net.id ?? net.name));
    if (recorded === undefined) return;
    await ensureTunnel(net.bridge, net.tunnel, net.mtu);
  }

  /** Runs `fn` after every claim or removal before it: port checks, records and removals see each other whole. */
  #serialised<T>(fn: () => Promise<T>): Promise<T> {
    const done = this.#portLock.then(fn);
    this.#portLock = done.catch(() => undefined);
    return done;
  }

  #networkPath(id: string): string {
    return path.join(this.#networksDir, `${id}.json`);
  }

  async #recordNetwork(n: NetworkDefinition): Promise<void> {
    const rec: RecordedNetwork = {
      id: n.id ?? n.name,
      name: n.name,
      bridge: n.bridge,
      subnet: n.subnet,
      ...(n.gateway !== undefined ? { gateway: n.gateway } : {}),
      ...(n.tunnel !== undefined ? { tunnelDevice: tunnelDeviceName(n.tunnel.vni) } : {}),
    };
    const file = this.#networkPath(rec.id);
    try {
      if (JSON.stringify(JSON.parse(await readFile(file, 'utf8'))) === JSON.stringify(rec)) return;
    } catch {
      // Not recorded yet.
    }
    await mkdir(this.#networksDir, { recursive: true });
    await writeFile(`${file}.tmp`, JSON.stringify(rec));
    await rename(`${file}.tmp`, file);
  }

  async #checkPorts(id: string, ports: readonly PortMapping[]): Promise<void> {
    for (let i = 0; i < ports.length; i++) {
      const p = ports[i] as PortMapping;
      for (const q of ports.slice(0, i)) {
        if (portsClash(p, q))
          throw new NetworkError(
            'PortInUse',
            `host port ${p.hostIP}:${p.hostPort}/${p.protocol} is published twice by this container`,
          );
      }
    }
    for (const other of await this.list()) {
      if (other === id) continue;
      const r = await this.#read(other);
      for (const q of r?.ports ?? []) {
        const p = ports.find((x) => portsClash(x, q));
        if (p !== undefined)
          throw new NetworkError(
            'PortInUse',
            `host port ${p.hostIP}:${p.hostPort}/${p.protocol} is already published by container ${other}`,
          );
      }
    }
    const refused = await this.#ports.hold(id, ports);
    if (refused === undefined) return;
    const { port: p, code } = refused;
    if (code === 'EADDRINUSE')
      throw new NetworkError(
        'PortInUse',
        `host port ${p.hostIP}:${p.hostPort}/${p.protocol} is already in use on this node`,
      );
    throw new NetworkError(
      'InvalidNetwork',
      `host port ${p.hostIP}:${p.hostPort}/${p.protocol} cannot be published: ${code}`,
    );
  }

  #recordPath(id: string): string {
    return path.join(this.#recordsDir, `${id}.json`);
  }

  async #read(id: string): Promise<AttachmentRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.#recordPath(id), 'utf8')) as AttachmentRecord;
    } catch {
      return undefined;
    }
  }

  async #write(record: AttachmentRecord): Promise<void> {
    await mkdir(this.#recordsDir, { recursive: true });
    const file = this.#recordPath(record.id);
    // Written whole or not at all: a torn record would strand its leases.
    await writeFile(`${file}.tmp`, JSON.stringify(record));
    await rename(`${file}.tmp`, file);
  }
}
