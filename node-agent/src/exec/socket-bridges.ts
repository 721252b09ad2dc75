// Two tiny Python programs for what Node cannot do on a Unix socket: receive a file descriptor
// (SCM_RIGHTS, for the pty master crun hands over) and speak SOCK_SEQPACKET (conmon's attach socket).
// They run as `python3 -c <source> args…`, so they ship inside the compiled JavaScript.

/**
 * console-bridge: `python3 -c CONSOLE_BRIDGE <socket-path> <runtime> <args…>`.
 * Listens on <socket-path>, runs the runtime (which connects and sends the pty master), then copies
 * fd 0 → master and master → fd 1; lines "cols rows" on fd 3 resize the terminal. Exits with the
 * runtime's exit status once the process is gone and its output drained.
 */
export const CONSOLE_BRIDGE = String.raw`
import os, sys, socket, select, struct, fcntl, termios, subprocess, errno
sock_path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sock_path)
srv.listen(1)
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=2)
master = None
while master is None:
    r, _, _ = select.select([srv], [], [], 0.05)
    if r:
        conn, _ = srv.accept()
        _, fds, _, _ = socket.recv_fds(conn, 1024, 1)
        conn.close()
        if fds:
            master = fds[0]
    elif child.poll() is not None:
        os.unlink(sock_path)
        sys.exit(child.returncode if child.returncode >= 0 else 128 - child.returncode)
srv.close()
os.unlink(sock_path)
ctl = 3
try:
    os.fstat(ctl)
except OSError:
    ctl = None
# select lists ready fds in this order: a resize sent before input is applied before the input is passed on.
inputs = ([ctl] if ctl is not None else []) + [master, 0]
ctl_buf = b''
def resize(line):
    parts = line.split()
    if len(parts) == 2:
        cols, rows = int(parts[0]), int(parts[1])
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
def write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]
while master in inputs:
    timeout = 0.05 if child.poll() is not None else None
    r, _, _ = select.select(inputs, [], [], timeout)
    if not r and child.poll() is not None:
        break
    for fd in r:
        if fd == master:
            try:
                data = os.read(master, 65536)
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                data = b''
            if not data:
                inputs.remove(master)
            else:
                write_all(1, data)
        elif fd == 0:
            data = os.read(0, 65536)
            if not data:
                inputs.remove(0)
            else:
                write_all(master, data)
        else:
            data = os.read(ctl, 4096)
            if not data:
                inputs.remove(ctl)
            ctl_buf += data
            while b'\n' in ctl_buf:
                line, ctl_buf = ctl_buf.split(b'\n', 1)
                resize(line)
code = child.wait()
sys.exit(code if code >= 0 else 128 - code)
`;

/**
 * attach-bridge: `python3 -c ATTACH_BRIDGE <attach-socket> <stdin:0|1>`.
 * conmon prefixes each packet it sends with the stream (2 stdout, 3 stderr); the bridge writes the
 * payload to its own fd 1 or 2. With stdin, fd 0 is forwarded and its EOF half-closes the socket.
 */
export const ATTACH_BRIDGE = String.raw`
import os, sys, socket, select
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
inputs = [s] + ([0] if sys.argv[2] == '1' else [])
def write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]
while s in inputs:
    r, _, _ = select.select(inputs, [], [])
    for fd in r:
        if fd is s:
            pkt = s.recv(65536)
            if not pkt:
                inputs.remove(s)
            elif pkt[0] == 3:
                write_all(2, pkt[1:])
            else:
                write_all(1, pkt[1:])
        else:
            data = os.read(0, 8192)  # conmon reads at most 8 KiB per packet
            if not data:
                inputs.remove(0)
                s.shutdown(socket.SHUT_WR)
            else:
                s.sendall(data)
`;
