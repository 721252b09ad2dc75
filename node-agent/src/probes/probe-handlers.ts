// Runs one probe once, as kubelet's exec, HTTP and TCP probers do: exit status 0, a status in [200, 400), a
// connection made. Only the outcome and kubelet-worded output come back; thresholds are the worker's job.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Container, Probe } from '@berth/api';

/** `unknown`: the probe could not be run at all (the container is going away); it counts for nothing. */
export type ProbeOutcome = 'success' | 'failure' | 'unknown';

export interface ProbeResult {
  readonly outcome: ProbeOutcome;
  readonly output: string;
}

/** What a probe is run against: the container's address and a way to run a command in it. */
export interface ProbeTarget {
  readonly container: Container;
  /** The address httpGet and tcpSocket connect to when the probe names no host; undefined: none known yet. */
  readonly ip: string | undefined;
  /** Runs `args` in the container; resolves with its exit code and output, rejects when it cannot start. */
  exec(args: readonly string[], timeoutMs: number): Promise<{ code: number; output: string } | 'timeout'>;
}

/** The most output a failure message keeps (kubelet reads at most 10 KiB of a body). */
const maxOutput = 10 * 1024;

const fail = (output: string): ProbeResult => ({ outcome: 'failure', output });

/** A port by number or by the name of one of the container's ports. */
export function resolvePort(c: Container, port: number | string): number | string {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const named = (c.spec.ports ?? []).find((p) => p.name === port);
  return named === undefined
    ? `port name ${JSON.stringify(port)} is not one of the container's ports`
    : named.containerPort;
}

const timeoutMsOf = (probe: Probe): number => (probe.timeoutSeconds ?? 1) * 1_000;

export async function runProbe(probe: Probe, target: ProbeTarget): Promise<ProbeResult> {
  if (probe.exec !== undefined) return execProbe(probe.exec.command ?? [], target, timeoutMsOf(probe));
  const action = probe.httpGet ?? probe.tcpSocket;
  if (action === undefined) return { outcome: 'unknown', output: 'the probe names no handler' };
  const port = resolvePort(target.container, action.port);
  if (typeof port === 'string') return fail(port);
  const host = action.host !== undefined && action.host !== '' ? action.host : target.ip;
  if (host === undefined && target.container.spec.networkMode === 'none')
    return fail('networkMode "none": the container has no address to probe over the network; use an exec probe');
  // Status has not recorded the address yet (the probe raced the first status write): try again next period.
  if (host === undefined) return { outcome: 'unknown', output: 'the container has no IP address to probe yet' };
  if (probe.httpGet !== undefined) return httpProbe(probe.httpGet, host, port, timeoutMsOf(probe));
  return tcpProbe(host, port, timeoutMsOf(probe));
}

async function execProbe(command: readonly string[], target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  if (command.length === 0) return fail('exec probe has no command');
  let ran: Awaited<ReturnType<ProbeTarget['exec']>>;
  try {
    ran = await target.exec(command, timeoutMs);
  } catch (err) {
    // Not started (the container stopped between two checks): says nothing about its health.
    return { outcome: 'unknown', output: err instanceof Error ? err.message : String(err) };
  }
  if (ran === 'timeout') return fail(`command ${JSON.stringify(command.join(' '))} timed out`);
  const output = ran.output.slice(0, maxOutput).trimEnd();
  if (ran.code === 0) return { outcome: 'success', output };
  return fail(output !== '' ? output : `command ${JSON.stringify(command.join(' '))} exited with code ${ran.code}`);
}

type HttpGet = NonNullable<Probe['httpGet']>;

function httpProbe(action: HttpGet, host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const scheme = action.scheme === 'HTTPS' ? 'https' : 'http';
  const rawPath = action.path ?? '/';
  const pathPart = rawPath.startsWith('/') ? rawPath : `/${rawPath}`;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const url = `${scheme}://${hostPart}:${port}${pathPart}`;
  // kubelet's defaults, each replaced by a header of the same name the probe gives.
  const headers: Record<string, string> = { 'User-Agent': 'berth-probe/1', Accept: '*/*' };
  for (const h of action.httpHeaders ?? []) {
    for (const k of Object.keys(headers)) if (k.toLowerCase() === h.name.toLowerCase()) delete headers[k];
    headers[h.name] = h.value;
  }
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const onResponse = (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < maxOutput) body += chunk;
      });
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        // kubelet counts any status below 400 as healthy, redirects included (it follows them; berth does not).
        if (code >= 200 && code < 400) done({ outcome: 'success', output: body.slice(0, maxOutput) });
        else done(fail(`HTTP probe failed with statuscode: ${code}`));
      });
      res.on('error', (err) => done(fail(`Get "${url}": ${err.message}`)));
    };
    const options = { method: 'GET', headers, agent: false as const };
    // kubelet does not verify a probed server's certificate.
    const req =
      scheme === 'https'
        ? httpsRequest(url, { ...options, rejectUnauthorized: false }, onResponse)
        : httpRequest(url, options, onResponse);
    const timer = setTimeout(
      () => done(fail(`Get "${url}": context deadline exceeded (timeout ${timeoutMs / 1_000}s)`)),
      timeoutMs,
    );
    req.on('error', (err) => done(fail(`Get "${url}": ${err.message}`)));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (r: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done(fail(`dial tcp ${address}: i/o timeout`)), timeoutMs);
    socket.once('connect', () => done({ outcome: 'success', output: '' }));
    socket.once('error', (err) => done(fail(`dial tcp ${address}: ${err.message}`)));
  });
}
