// The process streams a remote session connects, and whether -t can take effect on them: no WebSocket code, so
// `berth run -d` and `berth start` without -a need not load it.

/** Where the session's streams connect; the process's own by default. */
export interface SessionStdio {
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  readonly stdout: NodeJS.WritableStream & { readonly columns?: number; readonly rows?: number };
  readonly stderr: NodeJS.WritableStream;
}

/** Whether -t can take effect: as kubectl, a terminal needs -i and a real terminal on stdin; says why not. */
export function usableTty(wanted: boolean, stdin: boolean, stdio: SessionStdio): boolean {
  if (!wanted) return false;
  if (!stdin) {
    stdio.stderr.write('Unable to use a TTY - stdin is not attached (add -i)\n');
    return false;
  }
  if (stdio.stdin.isTTY !== true || stdio.stdin.setRawMode === undefined) {
    stdio.stderr.write('Unable to use a TTY - input is not a terminal or the right kind of file\n');
    return false;
  }
  return true;
}
