// The web dashboard in a real browser (Debian's chromium, driven by playwright-core) against a real cluster
// (API server, controllers, a node agent running busybox under crun): sign in with a token, see a Container made
// through the API appear and run without a reload, follow its log as lines arrive, scale a Service from the
// page and from kubectl, delete with a confirmation, see the node's usage refresh by itself. Root (crun).

import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { startTestCluster, launchHeadlessChromium } from '@berth/testkit';

/** The page's globals these tests read (tests are compiled without the DOM's types). */
interface PageGlobals {
  readonly document: { querySelector(selector: string): { textContent: string | null } | null };
  readonly sessionStorage: { getItem(key: string): string | null };
  readonly localStorage: { setItem(key: string, value: string): void };
}

const repo = new URL('../..', import.meta.url).pathname;
// The page under test is the built bundle: one older than its source would test old code.
const built = statSync(join(repo, 'dashboard/dist/app.js'), { throwIfNoEntry: false })?.mtimeMs ?? 0;
const source = Math.max(
  ...['app.tsx', 'views', 'api', 'kinds'].map((f) => statSync(join(repo, 'dashboard/src', f)).mtimeMs),
);
if (built < source) throw new Error('dashboard/dist is missing or older than dashboard/src: run `npm run build`');

const setUp = Date.now();
const cluster = await startTestCluster(t);
const { server } = cluster;

const browser = await launchHeadlessChromium(server.url);
t.teardown(() => browser.close());
// The test server's CA is its own: the browser is told to accept its certificate, as a user would once.
const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1400, height: 900 } });
// Before the cluster's teardown (tap runs them last first): it deletes Containers, which a live Service makes again.
t.teardown(async () => {
  await server.kubectl(['delete', 'services.berth.dev', '--all', '--wait=false']);
});
const page = await context.newPage();

const failures: string[] = [];
page.on('pageerror', (e) => failures.push(String(e)));

/** A subtest that leaves a screenshot of the page behind when it fails, for whoever reads the log. */
const step = (name: string, body: (t: Test) => Promise<void>) =>
  t.test(name, async (t) => {
    try {
      await body(t);
    } catch (e) {
      const path = join(tmpdir(), `dashboard-failed-${Date.now()}.png`);
      await page.screenshot({ path }).then(
        () => t.comment(`screenshot: ${path}`),
        () => undefined,
      );
      throw e;
    }
  });

const apply = async (yaml: string) => {
  const r = await server.kubectl(['apply', '-f', '-'], { input: yaml });
  if (r.code !== 0) throw new Error(r.stderr);
};
const started = Date.now();
t.comment(`cluster and browser up in ${started - setUp} ms`);
const mark = (what: string) => t.comment(`${what} at ${Date.now() - started} ms`);
const row = (key: string) => page.locator(`.vrow[data-key="${key}"]`);

step('the page asks for a token, refuses a wrong one, and signs in with a good one', async (t) => {
  mark('the page asks for a token');
  const answer = await page.goto(`${server.url}/dashboard/`);
  t.equal(answer?.status(), 200);
  t.match(answer?.headers()['content-security-policy'] ?? '', /default-src 'self'/);
  await page.getByLabel('Token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'does not know this token' }).waitFor();
  await page.getByLabel('Token').fill(server.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('user').filter({ hasText: 'admin' }).waitFor();
  t.equal(
    await page.evaluate(() => (globalThis as unknown as PageGlobals).sessionStorage.getItem('berth.token')),
    server.token,
    'kept for the session',
  );
  await page.getByRole('heading', { name: 'Containers' }).waitFor();
});

step('a Container made through the API appears and runs, live', async (t) => {
  mark('a Container made through');
  await page.getByLabel('Namespace').selectOption('default');
  await page.locator('.count').filter({ hasText: /^0$/ }).waitFor();
  await apply(`apiVersion: berth.dev/v1alpha1
kind: Container
metadata: {name: ticker, namespace: default}
spec:
  image: ${cluster.image}
  command: [sh, -c, 'i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.3; done']
  # sh as pid 1 ignores SIGTERM: the delete below would wait out the default 30 s.
  terminationGracePeriodSeconds: 1
`);
  await row('default/ticker').waitFor();
  t.pass('the row appeared without a reload');
  await row('default/ticker').filter({ hasText: 'Running' }).waitFor({ timeout: 20_000 });
  t.match((await row('default/ticker').textContent()) ?? '', /10\.214\.\d+\.\d+/, 'its IP shows');
});

step("the Container's log is followed as new lines arrive", async (t) => {
  mark("the Container's log");
  await row('default/ticker').click();
  await page.getByRole('link', { name: 'Logs' }).click();
  const log = page.getByTestId('log');
  await log.filter({ hasText: 'tick-1' }).waitFor();
  const lines = async () => ((await log.textContent()) ?? '').split('\n').filter((l) => l.startsWith('tick-')).length;
  const before = await lines();
  // A function, not a string: the page's Content-Security-Policy forbids eval.
  await page.waitForFunction(
    (n) =>
      ((globalThis as unknown as PageGlobals).document
        .querySelector('[data-testid="log"]')
        ?.textContent?.match(/tick-\d+/g)?.length ?? 0) > n,
    before + 2,
  );
  t.ok((await lines()) > before + 2, 'lines arrived while the page was open');
  t.equal(await page.getByTestId('log-state').textContent(), 'following');
});

step('the web terminal runs a command in the Container', async (t) => {
  mark('terminal');
  await page.getByRole('link', { name: 'Terminal' }).click();
  await page.getByTestId('terminal-state').filter({ hasText: 'connected' }).waitFor();
  await page.locator('.xterm-rows').filter({ hasText: '#' }).waitFor();
  await page.keyboard.type('echo hi-$((40+2))\n');
  // The typed line shows $((40+2)); only the shell's answer shows 42.
  await page.locator('.xterm-rows').filter({ hasText: 'hi-42' }).waitFor();
  t.pass('echo answered in the terminal');
  await page.keyboard.type('exit\n');
  await page.getByTestId('terminal-state').filter({ hasText: 'exited' }).waitFor();
});

step('a Service is scaled from the page and from kubectl, and the page follows both', async (t) => {
  mark('a Service is scaled');
  await apply(`apiVersion: berth.dev/v1alpha1
kind: Service
metadata: {name: api, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      image: ${cluster.image}
      command: [sleep, '3600']
      # Replicas made stopped: the node agent adopts them but runs nothing, so scaling costs the machine no processes.
      stopped: true
`);
  await page.getByRole('link', { name: 'Services' }).click();
  await row('default/api').filter({ hasText: /\d\/1/ }).waitFor();
  await row('default/api').click();
  await page.getByRole('button', { name: 'Scale' }).click();
  await page.getByLabel('Replicas').fill('2');
  await page.getByRole('dialog').getByRole('button', { name: 'Scale' }).click();
  await page.getByRole('dialog').waitFor({ state: 'detached' });
  const desired = await server.kubectl(['get', 'services.berth.dev', 'api', '-o', 'jsonpath={.spec.replicas}']);
  t.equal(desired.stdout, '2', 'the page scaled it');
  await page.getByRole('link', { name: '← Services' }).click();
  await row('default/api').filter({ hasText: /\d\/2/ }).waitFor();
  const scaled = await server.kubectl(['scale', 'services.berth.dev/api', '--replicas=3']);
  t.equal(scaled.code, 0, scaled.stderr);
  await row('default/api').filter({ hasText: /\d\/3/ }).waitFor();
  t.pass('kubectl scale shows without a reload');
  await page.getByRole('link', { name: 'Containers' }).click();
  await page.locator('.count').filter({ hasText: /^4$/ }).waitFor();
  t.pass('the three replicas are listed beside the ticker');
});

step('a label added in the YAML editor is reviewed as a dry-run diff, saved, and seen by kubectl', async (t) => {
  mark('yaml edit');
  await page.getByRole('link', { name: 'Services' }).click();
  await row('default/api').click();
  await page.getByRole('link', { name: 'YAML' }).click();
  await page.getByRole('button', { name: 'Edit' }).click();
  const editor = page.getByLabel('YAML');
  const text = await editor.inputValue();
  await editor.fill(text.replace('metadata:\n', 'metadata:\n  labels:\n    edited-by: dashboard\n'));
  await page.getByRole('button', { name: 'Review changes' }).click();
  await page
    .getByTestId('diff')
    .filter({ hasText: /\+\s+edited-by: dashboard/ })
    .waitFor();
  const before = await server.kubectl(['get', 'services.berth.dev', 'api', '-o', 'jsonpath={.metadata.labels}']);
  t.notMatch(before.stdout, /edited-by/, 'the review was a dry run');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByText('saved').waitFor();
  const after = await server.kubectl([
    'get',
    'services.berth.dev',
    'api',
    '-o',
    'jsonpath={.metadata.labels.edited-by}',
  ]);
  t.equal(after.stdout, 'dashboard');
  await page.getByRole('link', { name: 'Containers' }).click();
});

step('delete asks first; cancel keeps the Container, confirm deletes it', async (t) => {
  mark('delete asks first');
  await row('default/ticker').click();
  await page.getByRole('button', { name: 'Delete' }).click();
  const dialog = page.getByRole('dialog');
  t.match((await dialog.textContent()) ?? '', /Container ticker in default will be deleted/);
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'detached' });
  t.equal((await server.kubectl(['get', 'containers.berth.dev', 'ticker'])).code, 0, 'cancel deleted nothing');
  await page.getByRole('button', { name: 'Delete' }).click();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('heading', { name: 'Containers' }).waitFor();
  await page.locator('.count').filter({ hasNotText: 'loading' }).waitFor();
  await row('default/ticker').waitFor({ state: 'detached', timeout: 20_000 });
  t.pass('the row went once the agent had stopped it');
  const gone = await server.kubectl(['get', 'containers.berth.dev', 'ticker']);
  t.not(gone.code, 0, gone.stdout);
  t.match(gone.stderr, /NotFound|not found/, 'gone from the API too');
});

step(
  'Nodes show their usage, read again on its beat without a Refresh; lists come without managedFields',
  async (t) => {
    mark('node usage');
    // The beat is metrics-server's 15 s; the setting a user may change makes it a second here.
    await page.evaluate(() =>
      (globalThis as unknown as PageGlobals).localStorage.setItem('berth.usageIntervalSeconds', '1'),
    );
    await page.getByRole('link', { name: 'Nodes' }).click();
    const node = row(`/${cluster.agent.nodeName}`);
    await node.filter({ hasText: /\d+m \(\d+%\)/ }).waitFor();
    t.pass('the node shows its CPU usage against its capacity');
    const shown = page.getByTestId('usage-time');
    await shown.filter({ hasText: /usage at/ }).waitFor();
    const first = (await shown.textContent()) ?? '';
    await shown.filter({ hasNotText: first }).waitFor({ timeout: 20_000 });
    t.pass(`a newer reading came by itself (${first} → ${(await shown.textContent()) ?? ''})`);
    const list = page.waitForResponse((r) => /\/containers(\?|$)/.test(r.url()) && !r.url().includes('watch='));
    await page.getByRole('link', { name: 'Containers' }).click();
    const body = await (await list).text();
    t.match(body, /"kind":"ContainerList"/);
    t.notMatch(body, /managedFields/, 'the list the page fetched carries no managedFields');
  },
);

step('berth dashboard --url prints a link that signs a new browser in as its ServiceAccount', async (t) => {
  mark('berth dashboard');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [join(repo, 'cli/dist/main.js'), 'dashboard', '--url'],
    {
      env: { ...process.env, KUBECONFIG: server.kubeconfig },
    },
  );
  const url = stdout.trim();
  t.match(url, `${server.url}/dashboard/#token=`);
  const fresh = await browser.newContext({ ignoreHTTPSErrors: true });
  const other = await fresh.newPage();
  await other.goto(url);
  await other.getByTestId('user').filter({ hasText: 'system:serviceaccount:kube-system:berth-dashboard' }).waitFor();
  t.notMatch(other.url(), /token=/, 'the token left the address bar');
  await other.getByRole('heading', { name: 'Containers' }).waitFor();
  await fresh.close();
});

step('no script errors on the page', async (t) => {
  t.same(failures, []);
});
