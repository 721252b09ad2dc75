// Test fixtures for the gitops tests: a real git repository in a temp dir (served as file://) that tests commit
// to, and Debian's `git http-backend` behind a loopback HTTP server (smart HTTP, optional basic or bearer auth).
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestRepo {
  readonly dir: string;
  readonly url: string;
  /** Writes (content) or deletes (null) files, commits them on the current branch and returns the commit. */
  commit(files: Record<string, string | null>, message?: string): Promise<string>;
  git(...args: string[]): Promise<string>;
  close(): Promise<void>;
}

export async function createRepo(): Promise<TestRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-gitops-repo-'));
  const env = {
    ...process.env,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 't',
    GIT_AUTHOR_EMAIL: 't@localhost',
    GIT_COMMITTER_NAME: 't',
    GIT_COMMITTER_EMAIL: 't@localhost',
  };
  const git = async (...args: string[]) => (await run('git', ['-C', dir, ...args], { env })).stdout.trim();
  await git('init', '--quiet', '-b', 'main');
  // The http fixture serves this repository; upload-pack must allow fetching a commit by id as GitHub does.
  await git('config', 'uploadpack.allowAnySHA1InWant', 'true');
  await git('config', 'http.receivepack', 'false');
  return {
    dir,
    url: `file://${dir}`,
    git,
    async commit(files, message = 'change') {
      for (const [path, content] of Object.entries(files)) {
        const abs = join(dir, path);
        if (content === null) await rm(abs, { force: true });
        else {
          await mkdir(dirname(abs), { recursive: true });
          await writeFile(abs, content);
        }
      }
      await git('add', '--all');
      await git('commit', '--quiet', '--allow-empty', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface GitHttpServer {
  /** `http://127.0.0.1:port/<repo dir name>` serves the repo. */
  urlFor(repo: TestRepo): string;
  /** Requests seen, for asserting on what git sent. */
  readonly requests: { path: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

/** `git http-backend` (CGI) for repos under `root`; with `auth`, requests without that Authorization get a 401. */
export async function startGitHttp(root: string, auth?: string): Promise<GitHttpServer> {
  const requests: { path: string; authorization: string | undefined }[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push({ path: url.pathname, authorization: req.headers.authorization });
    if (auth !== undefined && req.headers.authorization !== auth) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' });
      res.end();
      return;
    }
    const cgi = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: req.method ?? 'GET',
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        HTTP_CONTENT_ENCODING: String(req.headers['content-encoding'] ?? ''),
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let headersDone = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const key = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (key === 'status') status = Number(value.split(' ')[0]);
        else headers[key] = value;
      }
      res.writeHead(status, headers);
      res.write(head.subarray(end + 4));
    });
    cgi.on('close', () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    requests,
    urlFor: (repo) => `http://127.0.0.1:${port}/${repo.dir.slice(root.length + 1)}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `git daemon` serving `root` on a loopback port (git://, read-only); resolves once it answers. */
export async function startGitDaemon(root: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const daemon = spawn(
    'git',
    ['daemon', '--reuseaddr', '--export-all', `--base-path=${root}`, '--listen=127.0.0.1', `--port=${port}`, root],
    { stdio: 'ignore', env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null' } },
  );
  const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
  return {
    url: `git://127.0.0.1:${port}`,
    close: async () => {
      daemon.kill();
      await exited;
    },
  };
}

export interface SshServer {
  /** `ssh://root@127.0.0.1:port<repo dir>` reaches the repo. */
  urlFor(repo: TestRepo): string;
  /** The private key sshd accepts (OpenSSH format). */
  readonly clientKey: string;
  /** known_hosts lines naming this server's host key. */
  readonly knownHosts: string;
  close(): Promise<void>;
}

/**
 * Debian's sshd on a loopback port with its own host key, accepting one generated client key for root (git runs
 * `git-upload-pack` through it); nothing of the machine's own ssh configuration is read.
 */
export async function startSshd(port: number): Promise<SshServer> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-gitops-sshd-'));
  const keygen = (file: string) => run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, file)]);
  await keygen('host');
  await keygen('client');
  await run('cp', [join(dir, 'client.pub'), join(dir, 'authorized_keys')]);
  const config = [
    `ListenAddress 127.0.0.1:${port}`,
    `HostKey ${join(dir, 'host')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The temp dir's modes are not what sshd wants of a home directory.
    'StrictModes no',
  ].join('\n');
  await writeFile(join(dir, 'sshd_config'), `${config}\n`);
  // sshd wants its privilege-separation directory; Debian makes it only when its service starts.
  await mkdir('/run/sshd', { recursive: true });
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => sshd.once('exit', () => resolve()));
  const hostKey = (await readFile(join(dir, 'host.pub'), 'utf8')).split(' ').slice(0, 2).join(' ');
  return {
    urlFor: (repo) => `ssh://root@127.0.0.1:${port}${repo.dir}`,
    clientKey: await readFile(join(dir, 'client'), 'utf8'),
    knownHosts: `[127.0.0.1]:${port} ${hostKey}\n`,
    close: async () => {
      sshd.kill();
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
