// Runs Debian's `git` binary for the source controller: a bare clone kept per source, shallow fetches into it
// (`--depth 1`, so each interval transfers only what changed), ls-remote for tag ranges, and a checkout of one
// commit into a directory. The real git is used rather than a JS library because it speaks every transport
// (file, http(s) smart protocol, ssh) and negotiates shallow, incremental fetches as servers expect.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitOpsError } from '../errors.js';

/**
 * Credentials: for HTTP(S) sources an Authorization header (never on the command line); for ssh sources a
 * private key and the known_hosts the server's key must be in.
 */
export type GitAuth =
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'ssh'; readonly identity: string; readonly knownHosts: string };

export interface GitOptions {
  readonly auth?: GitAuth | undefined;
  readonly signal: AbortSignal;
}

/** Where FETCH_HEAD lives in a bare clone: its mtime is when the source was last fetched. */
export function fetchHeadPath(clone: string): string {
  return join(clone, 'FETCH_HEAD');
}

/** When the clone was last fetched, or undefined when it never was (or does not exist). */
export async function lastFetchTime(clone: string): Promise<number | undefined> {
  try {
    return (await stat(fetchHeadPath(clone))).mtimeMs;
  } catch {
    return undefined;
  }
}

/** Creates the bare clone if it is missing; an existing one is reused (never a re-clone per interval). */
export async function ensureClone(clone: string, signal: AbortSignal): Promise<void> {
  try {
    await stat(join(clone, 'HEAD'));
    return;
  } catch {
    await mkdir(clone, { recursive: true });
  }
  await git(['init', '--bare', '--quiet', clone], { signal });
}

/**
 * Fetches `ref` (a full ref name or a commit) with depth 1 into the clone and returns the commit it names.
 * The result is kept under refs/gitops/current so later fetches negotiate from it.
 */
export async function fetchCommit(clone: string, url: string, ref: string, options: GitOptions): Promise<string> {
  await git(
    ['-C', clone, 'fetch', '--quiet', '--depth', '1', '--no-tags', '--force', url, `${ref}:refs/gitops/current`],
    options,
  );
  const out = await git(['-C', clone, 'rev-parse', '--verify', 'refs/gitops/current^{commit}'], options);
  return out.trim();
}

/** The tags of the remote and the commits they point at (peeled: an annotated tag's commit, not the tag object). */
export async function remoteTags(url: string, options: GitOptions): Promise<Map<string, string>> {
  const out = await git(['ls-remote', '--tags', url], options);
  const tags = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sha, name] = line.split('\t');
    if (sha === undefined || name === undefined || !name.startsWith('refs/tags/')) continue;
    const tag = name.slice('refs/tags/'.length);
    if (tag.endsWith('^{}')) tags.set(tag.slice(0, -3), sha);
    else if (!tags.has(tag)) tags.set(tag, sha);
  }
  return tags;
}

/** Writes the tree of `commit` into `dir` (which must exist), through a private index so the clone is untouched. */
export async function checkoutTree(clone: string, commit: string, dir: string, signal: AbortSignal): Promise<void> {
  await git(['--git-dir', clone, '--work-tree', dir, 'checkout', '--force', '--quiet', commit, '--', '.'], {
    signal,
    env: { GIT_INDEX_FILE: join(dir, '.git-index') },
  });
}

/**
 * The tree `treeish` of the clone (`<commit>` or `<commit>:<dir>`) as a gzip tar, as `git archive` writes it
 * (the image build controller uploads it as a build context). Fails past `maxBytes`.
 */
export function archiveTree(clone: string, treeish: string, maxBytes: number, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      ['--git-dir', clone, 'archive', '--format=tar.gz', treeish],
      { env: baseEnv(), signal, maxBuffer: maxBytes, encoding: 'buffer' },
      (err, stdout, stderr) => {
        if (err === null) return resolve(stdout);
        if (signal.aborted) return reject(new GitOpsError('BERTH_GITOPS_FETCH', 'git timed out or was aborted'));
        if ((err as { code?: unknown }).code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER')
          return reject(
            new GitOpsError('BERTH_GITOPS_FETCH', `the tree ${treeish} is larger than ${maxBytes} bytes packed`),
          );
        reject(
          new GitOpsError('BERTH_GITOPS_FETCH', `git archive: ${gitMessage(stderr.toString('utf8')) || err.message}`),
        );
      },
    );
  });
}

/** No prompts, no user or system configuration: the spec and its Secret are the whole configuration. */
function baseEnv(): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ASKPASS: '/bin/false',
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
  };
}

async function git(
  args: string[],
  options: { auth?: GitAuth | undefined; signal: AbortSignal; env?: Record<string, string> },
): Promise<string> {
  const env: Record<string, string> = { ...baseEnv(), ...options.env };
  const auth = options.auth;
  if (auth?.kind === 'ssh')
    return withSshKey(auth, (command) => run(args, { ...env, GIT_SSH_COMMAND: command }, options.signal));
  const header = authHeader(auth);
  if (header !== undefined) {
    // Passed through the environment (GIT_CONFIG_COUNT), so the credential never shows in `ps`.
    env['GIT_CONFIG_COUNT'] = '1';
    env['GIT_CONFIG_KEY_0'] = 'http.extraHeader';
    env['GIT_CONFIG_VALUE_0'] = header;
  }
  return run(args, env, options.signal);
}

/**
 * Runs `use` with an ssh command that offers only the Secret's key and trusts only its known_hosts (no user
 * ssh config, no agent, no prompts); the key files live in a private directory removed afterwards.
 */
async function withSshKey<T>(
  auth: { identity: string; knownHosts: string },
  use: (command: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-gitops-ssh-'));
  try {
    const key = join(dir, 'identity');
    const knownHosts = join(dir, 'known_hosts');
    // ssh refuses a key others can read; a key pasted without its final newline is refused too.
    await writeFile(key, auth.identity.endsWith('\n') ? auth.identity : `${auth.identity}\n`, { mode: 0o600 });
    await writeFile(knownHosts, auth.knownHosts, { mode: 0o600 });
    const options = [
      '-F /dev/null',
      '-o BatchMode=yes',
      '-o IdentitiesOnly=yes',
      '-o IdentityAgent=none',
      '-o StrictHostKeyChecking=yes',
      `-o UserKnownHostsFile='${knownHosts}'`,
      `-i '${key}'`,
    ];
    return await use(`ssh ${options.join(' ')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function run(args: string[], env: Record<string, string>, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { env, signal, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err === null) return resolve(stdout);
      if (signal.aborted) return reject(new GitOpsError('BERTH_GITOPS_FETCH', 'git timed out or was aborted'));
      const text = gitMessage(stderr) || err.message;
      const denied =
        /authentication failed|could not read username|401|403|permission denied|host key verification failed/i.test(
          text,
        );
      reject(new GitOpsError(denied ? 'BERTH_GITOPS_AUTH' : 'BERTH_GITOPS_FETCH', `git ${gitVerb(args)}: ${text}`));
    });
  });
}

/** The last lines of git's stderr that say what went wrong (not the advice git appends to every failure). */
function gitMessage(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(
      (l) => l !== '' && !/^(please make sure you have the correct access rights|and the repository exists)/i.test(l),
    );
  return lines.slice(-3).join('; ');
}

function gitVerb(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-C' || a === '--git-dir' || a === '--work-tree') i++;
    else if (!a.startsWith('-')) return a;
  }
  return '';
}

function authHeader(auth: GitAuth | undefined): string | undefined {
  if (auth === undefined || auth.kind === 'ssh') return undefined;
  if (auth.kind === 'bearer') return `Authorization: Bearer ${auth.token}`;
  return `Authorization: Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
}
