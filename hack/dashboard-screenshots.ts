// Takes the README's pictures of the web dashboard (docs/dashboard-*.png): a real cluster from the test kit (API
// server, controllers, a node agent running busybox under crun), a few things running on it, and Debian's
// chromium driven by playwright-core. Root (crun). Run after `npm run build`:
//   node --conditions=berth-src --import=tsx hack/dashboard-screenshots.ts [--out docs]

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestCluster, launchHeadlessChromium } from '@berth/testkit';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs' } } });
const teardowns: (() => unknown)[] = [];
const cluster = await startTestCluster({ teardown: (fn) => teardowns.push(fn) });
const { server } = cluster;
const apply = async (yaml: string) => {
  const r = await server.kubectl(['apply', '-f', '-'], { input: yaml });
  if (r.code !== 0) throw new Error(r.stderr);
};
const browser = await launchHeadlessChromium(server.url);
try {
  await apply(`apiVersion: berth.dev/v1alpha1
kind: Service
metadata: {name: web, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      image: ${cluster.image}
      command: [sh, -c, 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www']
      ports: [{name: http, containerPort: 80}]
      readinessProbe: {tcpSocket: {port: http}, periodSeconds: 2}
      terminationGracePeriodSeconds: 1
---
apiVersion: berth.dev/v1alpha1
kind: Container
metadata: {name: ticker, namespace: default, labels: {app: ticker}}
spec:
  image: ${cluster.image}
  command: [sh, -c, 'i=0; while true; do echo "$(date -u +%T) tick $i"; i=$((i+1)); sleep 0.5; done']
  terminationGracePeriodSeconds: 1
---
apiVersion: berth.dev/v1alpha1
kind: Container
metadata: {name: broken, namespace: default}
spec:
  image: 127.0.0.1:1/no/such:image
---
apiVersion: berth.dev/v1alpha1
kind: Network
metadata: {name: backend, namespace: default}
spec: {}
---
apiVersion: berth.dev/v1alpha1
kind: Volume
metadata: {name: data, namespace: default}
spec: {}
`);
  const ready = async () => {
    for (const until = Date.now() + 60_000; Date.now() < until; ) {
      const r = await server.kubectl(['get', 'services.berth.dev', 'web', '-o', 'jsonpath={.status.readyReplicas}']);
      if (r.stdout === '3') return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error('web did not get 3 ready replicas');
  };
  await ready();
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 720 },
    colorScheme: 'light',
  });
  const page = await context.newPage();
  const shot = async (name: string) => {
    await page.screenshot({ path: join(values.out, `dashboard-${name}.png`) });
    console.log(`${values.out}/dashboard-${name}.png`);
  };
  await page.goto(`${server.url}/dashboard/`);
  await shot('login');
  await page.getByLabel('Token').fill(server.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Namespace').selectOption('default');
  await page.locator('.vrow[data-key="default/ticker"]', { hasText: 'Running' }).waitFor();
  await page
    .locator('.vrow[data-key="default/broken"]', { hasText: /Err|BackOff|Failed/ })
    .waitFor({ timeout: 60_000 });
  await shot('containers');
  await page.getByRole('link', { name: 'Services' }).click();
  await page.locator('.vrow[data-key="default/web"]', { hasText: '3/3' }).waitFor();
  await shot('services');
  await page.locator('.vrow[data-key="default/web"]').click();
  await page.getByRole('button', { name: 'Scale' }).click();
  await page.getByLabel('Replicas').fill('5');
  await shot('scale');
  await page.getByRole('dialog').getByRole('button', { name: 'Scale' }).click();
  await page.getByRole('link', { name: '← Services' }).click();
  await page.locator('.vrow[data-key="default/web"]', { hasText: '5/5' }).waitFor({ timeout: 60_000 });
  await page.getByRole('link', { name: 'Nodes' }).click();
  // Usage is read when the view opens; the agent's first stats may not be there yet, so read again until they are.
  for (let i = 0; (await page.getByText(/\d+m \(\d+%\)/).count()) === 0; i++) {
    if (i === 60) throw new Error('no node usage after a minute');
    await page.waitForTimeout(1000);
    await page.getByRole('button', { name: 'Refresh usage' }).click();
  }
  await shot('nodes');
  await page.goto(`${server.url}/dashboard/#/containers/default/ticker/logs`);
  await page.getByTestId('log').filter({ hasText: 'tick 8' }).waitFor();
  await shot('logs');
  await page.getByRole('link', { name: 'Terminal' }).click();
  await page.getByTestId('terminal-state').filter({ hasText: 'connected' }).waitFor();
  await page.locator('.xterm-rows').filter({ hasText: '#' }).waitFor();
  await page.keyboard.type('ps; echo hello from $(hostname)\n');
  await page.locator('.xterm-rows').filter({ hasText: 'hello from' }).waitFor();
  await shot('terminal');
  await page.goto(`${server.url}/dashboard/#/services/default/web/yaml`);
  await page.getByTestId('yaml').waitFor();
  await page.getByRole('button', { name: 'Edit' }).click();
  const editor = page.getByLabel('YAML');
  await editor.fill((await editor.inputValue()).replace('replicas: 5', 'replicas: 4'));
  await page.getByRole('button', { name: 'Review changes' }).click();
  await page.getByTestId('diff').filter({ hasText: '+   replicas: 4' }).waitFor();
  await shot('yaml');
  await page.goto(`${server.url}/dashboard/#/containers/default/ticker`);
  await page.getByRole('button', { name: 'Delete' }).click();
  await shot('delete');
  await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
  await page.goto(`${server.url}/dashboard/#/events`);
  await page.locator('.vrow').first().waitFor();
  await shot('events');
} finally {
  await browser.close();
  await server.kubectl(['delete', 'services.berth.dev', '--all', '--wait=false']);
  for (const fn of teardowns.reverse()) await fn();
}
