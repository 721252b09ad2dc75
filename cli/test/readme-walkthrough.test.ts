// The README's walk-through, run as written against a real `berth up` (API server and node agent; needs root,
// crun, conmon): every command of its ```sh blocks must exit 0, a command followed by `# …` lines must fail
// printing that text (its error examples are what kubectl prints), and every relative link must name a file
// in the repository. `npm start`/`npm test` lines are the set-up this test stands in for.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

const repo = new URL('../..', import.meta.url).pathname;
const readme = await readFile(join(repo, 'README.md'), 'utf8');

interface Step {
  readonly command: string;
  /** The comment after the command (`# Pending → Pulling → Running`), without the `#`. */
  readonly note: string;
  /** Output the README shows under the command (`# Error from server …` lines); set means it must fail. */
  readonly expectedError: string[];
}

/** Splits a shell line into command and trailing comment: a `#` starting a word outside quotes. */
function splitComment(line: string): { command: string; note: string } {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote !== undefined) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!)))
      return { command: line.slice(0, i).trim(), note: line.slice(i + 1).trim() };
  }
  return { command: line.trim(), note: '' };
}

/** The README's ```sh blocks as steps, in order. */
function walkThrough(markdown: string): Step[][] {
  const blocks = [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  return blocks
    .map((block) => {
      const steps: Step[] = [];
      let previous: Step | undefined;
      for (const line of block.split('\n')) {
        const { command, note } = splitComment(line);
        if (command === '') {
          // A whole-line comment right under a command is the output the README shows for it; after a blank
          // line it is a heading.
          if (line.trim() === '') previous = undefined;
          else previous?.expectedError.push(note);
          continue;
        }
        previous = undefined;
        if (/^npm (start|test)\b/.test(command)) continue;
        const step = { command, note, expectedError: [] };
        steps.push(step);
        previous = step;
      }
      return steps;
    })
    .filter((steps) => steps.length > 0);
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

interface Run {
  readonly code: number | null;
  readonly output: string;
}

const dir = await mkdtemp(join(tmpdir(), 'berth-readme-'));
const kubeconfig = join(dir, 'kubeconfig');
// The commands run as written; only scratch space is this test's own (busybox-image.sh's OCI layout, kubectl's
// discovery cache), and the kubeconfig is the one `berth up --kubeconfig` wrote instead of ~/.kube/config.
const env = {
  ...process.env,
  KUBECONFIG: kubeconfig,
  KUBECACHEDIR: join(dir, 'kube-cache'),
  BERTH_BUSYBOX_OCI: join(dir, 'busybox-oci'),
};

/** Runs a README line with sh in the repository root, as a user would paste it. */
function sh(command: string): { child: ChildProcess; output: () => string; done: Promise<Run> } {
  const child = spawn('sh', ['-c', command], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<Run>((resolve) => child.once('close', (code) => resolve({ code, output: out })));
  return { child, output: () => out, done };
}

/** Waits until `check` holds or `ms` pass; says which. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

const stop = async (child: ChildProcess, done: Promise<unknown>): Promise<void> => {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
    process.kill(-child.pid, 'SIGTERM');
  await done;
};

t.test('README links only to files in the repository', async (t) => {
  const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((l) => !/^[a-z]+:/i.test(l) && !l.startsWith('#'));
  t.ok(links.length > 0, 'the README has relative links');
  for (const link of links) {
    const path = join(repo, link.split('#')[0]!);
    t.ok(path.startsWith(repo) && existsSync(path), `${link} is a file in the repository`);
  }
});

t.test('berth up --help promises only what berth up runs', async (t) => {
  const help = await sh('npx berth up --help').done;
  t.equal(help.code, 0, 'npx berth runs (setup links the bin after the build)');
  t.match(
    help.output.replace(/\s+/g, ' '),
    /run berth all-in-one: the API server on its embedded store, the controller manager and the node agent/,
  );
  // The controller manager runs every controller (scheduler included); the store is embedded or etcd.
  t.match(help.output, /--store .*etcd:\/\//s, 'the one other store berth up can use');
  for (const flag of ['--data-dir', '--listen', '--kubeconfig', '--no-agent', '--log-level', '--etcd-cafile'])
    t.match(help.output, flag);
});

// Some 90 commands, each a kubectl or berth process (half a second to start on this 2-core machine), and
// containers started and stopped: longer than the suite's 300 s default on a loaded machine.
t.setTimeout(600_000);

t.test("the README's walk-through runs as written against berth up", async (t) => {
  const blocks = walkThrough(readme);
  t.ok(
    blocks.flat().filter((s) => s.command.startsWith('kubectl ')).length >= 20,
    'the walk-through has its kubectl commands',
  );
  t.ok(
    blocks.flat().some((s) => s.expectedError.length > 0),
    'and its error examples',
  );

  // The walk-through starts the loopback registry on its default port; one this test started, it stops.
  const registryWasRunning = (await sh('hack/registry.sh status').done).code === 0;
  t.teardown(async () => {
    if (!registryWasRunning) await sh('hack/registry.sh stop').done;
  });
  const port = await freePort();
  const up = sh(
    `node cli/dist/main.js up --data-dir ${join(dir, 'data')} --listen 127.0.0.1:${port} --kubeconfig ${kubeconfig}`,
  );
  t.teardown(async () => {
    await stop(up.child, up.done);
    await rm(dir, { recursive: true, force: true });
  });
  t.ok(await until(() => up.output().includes('berth is up') || up.child.exitCode !== null, 60_000), 'berth up starts');
  t.match(up.output(), /berth is up/, up.output());
  // The agent starts after the API serves: the walk-through's first commands expect its Node.
  let nodeReady = false;
  for (const end = Date.now() + 60_000; !nodeReady && Date.now() < end; ) {
    const nodes = await sh('kubectl get nodes --no-headers').done;
    nodeReady = /\sReady\s/.test(nodes.output);
    if (!nodeReady) await new Promise((r) => setTimeout(r, 200));
  }
  t.ok(nodeReady, 'the node agent registered a Ready Node');

  for (const steps of blocks) {
    const watches: { step: Step; run: ReturnType<typeof sh>; mayEnd?: boolean }[] = [];
    for (const step of steps) {
      // Commands that run until Ctrl-C (follow, forward, live stats) run beside the block's next steps; at its end
      // they still run or ended well (a followed log ends when its block deletes the container).
      if (
        /^(kubectl|npx berth) (logs\b.*\s(-f|--follow)\b|port-forward\b)/.test(step.command) ||
        /^npx berth stats\b(?!.*--no-stream)/.test(step.command)
      ) {
        watches.push({ step, run: sh(step.command), mayEnd: true });
        continue;
      }
      if (/\s(-w|--watch)\b/.test(step.command)) {
        const run = sh(step.command);
        // `# Pending → Pulling → Running`: the watch must get to the last state; otherwise its first rows.
        const states = step.note.includes('→') ? step.note.split('→').map((s) => s.trim()) : [];
        const last = states.at(-1);
        const seen = await until(
          () => (last === undefined ? /\n\S/.test(run.output()) : new RegExp(`\\s${last}\\s`).test(run.output())),
          180_000,
        );
        t.ok(seen, `${step.command}: ${last === undefined ? 'prints the objects' : `shows ${last}`}`, {
          output: run.output(),
        });
        watches.push({ step, run });
        continue;
      }
      const run = await sh(step.command).done;
      if (step.expectedError.length > 0) {
        t.not(run.code, 0, `${step.command} fails`);
        for (const line of step.expectedError)
          t.ok(run.output.includes(line.replace(/\s*…$/, '')), `${step.command} prints: ${line}`, {
            output: run.output,
          });
      } else if (step.command.startsWith('kubectl diff ')) {
        // kubectl diff exits 1 when it found differences (the walk-through changed the objects) and >1 on errors.
        t.ok(run.code === 0 || run.code === 1, `${step.command} exits 0 or 1`, { output: run.output });
      } else {
        t.equal(run.code, 0, step.command, { output: run.output });
      }
    }
    for (const { step, run, mayEnd } of watches) {
      const code = run.child.exitCode;
      if (mayEnd === true)
        t.ok(code === null || code === 0, `${step.command} ran without failing`, { output: run.output() });
      else t.equal(code, null, `${step.command} kept watching`, { output: run.output() });
      await stop(run.child, run.done);
    }
  }
  t.equal(up.child.exitCode, null, 'berth up still runs');
});
