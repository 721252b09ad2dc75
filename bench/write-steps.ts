// Steps of the create path timed alone, in one process, this checkout's built modules beside another checkout's
// (`--baseline`), rounds alternated: a ratio that the machine's load moves far less than a whole HTTPS run.
// Not a test: run after `npx tsc -b` in both checkouts with
//   node --conditions=berth-src --import=tsx bench/write-steps.ts --baseline OTHER_CHECKOUT [--rounds 7]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { container, quantile } from './api-process.js';

const { values } = parseArgs({
  options: { baseline: { type: 'string' }, rounds: { type: 'string', default: '7' } },
});
if (values.baseline === undefined) throw new RangeError('--baseline OTHER_CHECKOUT is required');
const rounds = Number(values.rounds);
const here = fileURLToPath(new URL('..', import.meta.url));

interface Modules {
  readonly applyDefaults: (value: unknown, schema: unknown) => void;
  readonly jsonDepthExceeds: (text: string) => boolean;
  readonly wantsTable: (accept: string | undefined) => boolean;
  readonly dropsManagedFields: (accept: string | undefined) => boolean;
  readonly writeStrategy: (resource: unknown, part: 'main') => { getResetFields?: () => unknown };
}

async function load(root: string): Promise<Modules> {
  const dist = join(root, 'apiserver/dist');
  const defaults = await import(join(dist, 'schema/defaults.js'));
  const depth = await import(join(dist, 'http/nesting-depth.js'));
  const negotiation = await import(join(dist, 'http/negotiation.js'));
  const strategies = await import(join(dist, 'registry/status-strategy.js'));
  return {
    applyDefaults: defaults.applyDefaults,
    jsonDepthExceeds: depth.jsonDepthExceeds,
    wantsTable: negotiation.wantsTable,
    dropsManagedFields: negotiation.dropsManagedFields,
    writeStrategy: strategies.writeStrategy,
  };
}

const sides = { baseline: await load(values.baseline), this: await load(here) };
const crd = parseYaml(readFileSync(join(here, 'crds/container.yaml'), 'utf8')) as {
  spec: { versions: { schema: { openAPIV3Schema: unknown } }[] };
};
const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
const body = JSON.stringify(container('c64-100000'));
const resource = { strategy: {}, subresources: { status: true } };

/** CPU microseconds per call of `step`, over `n` calls. */
function perCall(step: () => void, n: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) step();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

const steps: Record<string, (m: Modules) => () => void> = {
  // The body is parsed in both columns; the parse alone is its own row, to subtract.
  'JSON.parse of the body (the same code in both)': () => () => JSON.parse(body),
  'JSON.parse + applyDefaults (twice per create)': (m) => () => m.applyDefaults(JSON.parse(body), schema),
  'jsonDepthExceeds (twice per create: handler, audit)': (m) => () => m.jsonDepthExceeds(body),
  'wantsTable + dropsManagedFields of application/json': (m) => () =>
    m.wantsTable('application/json') || m.dropsManagedFields('application/json'),
  'writeStrategy(main) + getResetFields': (m) => () => m.writeStrategy(resource, 'main').getResetFields?.(),
};

console.log(`create-path steps, CPU us per call, medians of ${rounds} alternated rounds (baseline ${values.baseline})`);
for (const [name, make] of Object.entries(steps)) {
  const times: Record<keyof typeof sides, number[]> = { baseline: [], this: [] };
  for (let r = 0; r < rounds; r++) {
    for (const side of ['baseline', 'this'] as const) times[side].push(perCall(make(sides[side]), 20_000));
  }
  const [b, t] = [times.baseline, times.this].map((ts) =>
    quantile(
      [...ts].sort((x, y) => x - y),
      0.5,
    ),
  ) as [number, number];
  console.log(
    `${name.padEnd(54)} baseline ${b.toFixed(2).padStart(6)}  this ${t.toFixed(2).padStart(6)}  ${(t / b).toFixed(2)}x`,
  );
}
