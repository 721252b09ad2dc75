// A shell in a Container, in the page: xterm.js over the exec subresource's WebSocket (v5.channel.k8s.io, as
// kubectl exec -it speaks it: a channel byte before each message; 0 stdin, 1 stdout, 3 the closing Status, 4
// resizes). A browser cannot set Authorization on a WebSocket, so the token rides in the
// `base64url.bearer.authorization.k8s.io.` subprotocol, which the API server reads and does not pass on.

import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { useEffect, useRef, useState } from 'preact/hooks';
import { objectPath, resourceType } from '../api/resources.js';
import { currentToken } from '../api/token.js';

const stdin = 0;
const stdout = 1;
const stderr = 2;
const status = 3;
const resize = 4;

const base64url = (s: string) => btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

export function TerminalView(props: { namespace: string; name: string }) {
  const host = useRef<HTMLDivElement>(null);
  const [state, setState] = useState('connecting');
  const [session, setSession] = useState(0);
  useEffect(() => {
    const element = host.current;
    if (element === null) return;
    const term = new Terminal({ fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace', fontSize: 13 });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(element);
    fit.fit();
    const query = new URLSearchParams([
      ['command', 'sh'],
      ['stdin', 'true'],
      ['stdout', 'true'],
      ['tty', 'true'],
    ]);
    const path = `${objectPath(resourceType('containers')!, props.namespace, props.name, 'exec')}?${query}`;
    const token = currentToken();
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`, [
      'v5.channel.k8s.io',
      'v4.channel.k8s.io',
      ...(token === undefined ? [] : [`base64url.bearer.authorization.k8s.io.${base64url(token)}`]),
    ]);
    ws.binaryType = 'arraybuffer';
    const encoder = new TextEncoder();
    const send = (channel: number, data: string) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      const bytes = encoder.encode(data);
      const frame = new Uint8Array(bytes.length + 1);
      frame[0] = channel;
      frame.set(bytes, 1);
      ws.send(frame);
    };
    const sendSize = () => send(resize, JSON.stringify({ Width: term.cols, Height: term.rows }));
    ws.onopen = () => {
      setState('connected');
      sendSize();
      term.focus();
    };
    ws.onmessage = (e: MessageEvent<ArrayBuffer>) => {
      const data = new Uint8Array(e.data);
      const channel = data[0];
      if (channel === stdout || channel === stderr) term.write(data.subarray(1));
      else if (channel === status) {
        const s = JSON.parse(new TextDecoder().decode(data.subarray(1))) as { status?: string; message?: string };
        setState(s.status === 'Success' ? 'exited' : `ended: ${s.message ?? s.status ?? ''}`);
      }
    };
    ws.onerror = () => setState('could not connect');
    ws.onclose = () => setState((s) => (s === 'connected' || s === 'connecting' ? 'closed' : s));
    const typing = term.onData((d) => send(stdin, d));
    const resizing = term.onResize(sendSize);
    const observer = new ResizeObserver(() => fit.fit());
    observer.observe(element);
    return () => {
      observer.disconnect();
      typing.dispose();
      resizing.dispose();
      ws.close();
      term.dispose();
    };
  }, [props.namespace, props.name, session]);
  return (
    <div class="terminal">
      <div class="toolbar">
        <span class={`live ${state === 'connected' ? 'on' : 'off'}`} data-testid="terminal-state">
          {state}
        </span>
        <span class="count">sh in {props.name}</span>
        {state === 'connected' || state === 'connecting' ? null : (
          <button
            type="button"
            onClick={() => {
              setState('connecting');
              setSession((n) => n + 1);
            }}
          >
            Reconnect
          </button>
        )}
      </div>
      <div class="xterm-host" ref={host} data-testid="terminal" />
    </div>
  );
}
