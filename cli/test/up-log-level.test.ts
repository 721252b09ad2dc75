// `berth up --log-level` makes the one logger of the process: the API server logs through it as JSON lines on
// stderr (stdout keeps what the command prints), and a level that does not exist is refused before any I/O.

import { spawn } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { up } from '../src/commands/up.js';
import { berthMain } from './berth-process.js';

t.test('an unknown level is refused before the data dir is touched', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'berth-loglevel-'));
  t.teardown(() => rm(parent, { recursive: true, force: true }));
  const dataDir = join(parent, 'data');
  await t.rejects(
    up({ dataDir, listen: '127.0.0.1:0', kubeconfig: join(parent, 'kc'), agent: false, logLevel: 'loud' }),
    { code: 'BERTH_INVALID_ARGUMENT', message: /log level must be one of/ },
  );
  await t.rejects(access(dataDir), { code: 'ENOENT' }, 'nothing was written');
});

t.test('the chosen level reaches the API server: info lines on stderr at info, none at warn', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'berth-loglevel-'));
  t.teardown(() => rm(parent, { recursive: true, force: true }));
  const run = async (level: string): Promise<{ stdout: string; stderr: string }> => {
    const child = spawn(
      process.execPath,
      [
        berthMain,
        'up',
        '--data-dir',
        join(parent, level),
        '--listen',
        '127.0.0.1:0',
        '--kubeconfig',
        join(parent, `kc-${level}`),
        '--no-agent',
        '--log-level',
        level,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('try: kubectl')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`berth up exited with ${code}: ${stderr}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    return { stdout, stderr };
  };
  const info = await run('info');
  const lines = info.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(lines, [{ level: 30, msg: 'berth is up', name: 'berth' }], 'one JSON line at info');
  t.match(info.stdout, /berth is up at https:\/\/127\.0\.0\.1:\d+/, 'stdout keeps the human message');
  const warn = await run('warn');
  t.equal(warn.stderr.split('\n').filter((l) => l.startsWith('{')).length, 0, 'nothing below warn');
});
