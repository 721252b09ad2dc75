// Benchmark: the web dashboard's first render of the Containers list holding 1,000 Containers (navigation start in
// Debian's chromium → the list shows all 1,000 counted and its first rows drawn; a fresh browser context each run, so
// the page, its script and the list all come over the wire), beside `kubectl get containers` of the same 1,000 from
// the same `berth up` (process spawn → exit, discovery cache warm). Prints medians and the ratio, and the bytes of
// the list the page fetches (`drop=metadata.managedFields`, KEP-5958) beside the same list with them.
// Not a test: run with
//   node --conditions=berth-src --import=tsx bench/dashboard-first-render.ts [--containers 1000] [--runs 5]

import { execFile } from 'node:child_process';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { launchHeadlessChromium } from '@berth/testkit';
import { containersPath, createContainers, httpsPool, quantile, startBerth } from './api-process.js';

const { values } = parseArgs({
  options: { containers: { type: 'string', default: '1000' }, runs: { type: 'string', default: '5' } },
});
const count = Number(values.containers);
const runs = Number(values.runs);
const kubectl = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';
/** What the page's globals are read as (the benchmark is compiled without the DOM's types). */
interface Window {
  __firstRender?: number;
  performance: { getEntriesByName(name: string): { startTime: number }[] };
  document: { querySelectorAll(selector: string): { length: number } };
}
const median = (xs: number[]) =>
  quantile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

console.log(
  `load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${count} Containers, ${runs} runs each`,
);
const berth = await startBerth();
try {
  const pool = httpsPool(berth, 16);
  await createContainers(berth, pool, count);
  const listBytes = async (accept: string) => {
    const res = await pool.request({
      path: containersPath,
      method: 'GET',
      headers: { authorization: `Bearer ${berth.token}`, accept },
    });
    return (await res.body.arrayBuffer()).byteLength;
  };
  const [withFields, without] = [
    await listBytes('application/json'),
    await listBytes('application/json;drop=metadata.managedFields'),
  ];
  console.log(
    `list of ${count}: ${(withFields / 1e6).toFixed(2)} MB with managedFields, ${(without / 1e6).toFixed(2)} MB as the dashboard asks (drop=metadata.managedFields), ${((1 - without / withFields) * 100).toFixed(0)} % less`,
  );
  await pool.close();

  const env = {
    ...process.env,
    KUBECONFIG: berth.kubeconfig,
    KUBECACHEDIR: join(tmpdir(), `berth-bench-kc-${process.pid}`),
  };
  const get = async () => {
    const started = performance.now();
    const { stdout } = await promisify(execFile)(kubectl, ['get', 'containers.berth.dev', '--no-headers'], {
      env,
      maxBuffer: 64 << 20,
    });
    const ms = performance.now() - started;
    const lines = stdout.trim().split('\n').length;
    if (lines !== count) throw new Error(`kubectl listed ${lines}, not ${count}`);
    return ms;
  };
  await get(); // discovery cache
  const kubectlMs: number[] = [];
  for (let i = 0; i < runs; i++) kubectlMs.push(await get());

  const browser = await launchHeadlessChromium(berth.url);
  // Signed in already (the token in sessionStorage), the namespace picked; the moment the list shows every
  // Container with rows drawn is noted by the page itself, so no polling from here skews it.
  const init = `
    sessionStorage.setItem('berth.token', ${JSON.stringify(berth.token)});
    localStorage.setItem('berth.namespace', 'default');
    const seen = () => {
      const c = document.querySelector('[data-testid="count"]');
      if (c !== null && c.textContent === '${count}' && document.querySelector('.vrow') !== null) {
        window.__firstRender = performance.now();
        observer.disconnect();
      }
    };
    const observer = new MutationObserver(seen);
    document.addEventListener('DOMContentLoaded', () =>
      observer.observe(document.body, { subtree: true, childList: true, characterData: true }));
  `;
  const renderMs: number[] = [];
  const paintMs: number[] = [];
  const rows: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1400, height: 900 } });
    await context.addInitScript(init);
    const page = await context.newPage();
    await page.goto(`${berth.url}/dashboard/#/containers`);
    // Functions, not strings: the page's Content-Security-Policy forbids eval, and these run through CDP instead.
    await page.waitForFunction(() => (globalThis as unknown as Window).__firstRender !== undefined, undefined, {
      timeout: 60_000,
    });
    const [render, paint, drawn] = await page.evaluate(() => {
      const w = globalThis as unknown as Window;
      return [
        w.__firstRender ?? Number.NaN,
        w.performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
        w.document.querySelectorAll('.vrow').length,
      ] as const;
    });
    await context.close();
    // The first run warms the server's watch cache and chromium's own start-up; it is not counted.
    if (i === 0) continue;
    renderMs.push(render);
    paintMs.push(paint);
    rows.push(drawn);
  }
  await browser.close();

  const dash = median(renderMs);
  const kc = median(kubectlMs);
  console.log(`dashboard: first contentful paint   ${median(paintMs).toFixed(0).padStart(6)} ms`);
  console.log(
    `dashboard: ${count} Containers listed  ${dash.toFixed(0).padStart(6)} ms  (${Math.max(...rows)} rows in the DOM)`,
  );
  console.log(`kubectl get containers (${count})  ${kc.toFixed(0).padStart(6)} ms`);
  console.log(
    `ratio dashboard / kubectl: ${(dash / kc).toFixed(2)}  (runs: ${renderMs.map((m) => m.toFixed(0)).join(', ')} vs ${kubectlMs.map((m) => m.toFixed(0)).join(', ')})`,
  );
} finally {
  await berth.close();
}
