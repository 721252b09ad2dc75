// Bundles the dashboard into dist/ (one script, one stylesheet, the page) for the API server to serve at
// /dashboard/: no CDN, no runtime fetches other than the API. `--watch` rebuilds on change.
import { cp, mkdir, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await cp(join(here, 'src', 'index.html'), join(dist, 'index.html'));
await cp(join(here, 'src', 'styles.css'), join(dist, 'styles.css'));
const require = createRequire(import.meta.url);
await cp(require.resolve('@xterm/xterm/css/xterm.css'), join(dist, 'xterm.css'));
const options = {
  entryPoints: [join(here, 'src', 'main.tsx')],
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  // The terminal (xterm.js, most of the bytes) is its own chunk, loaded when a terminal is opened.
  splitting: true,
  outdir: dist,
  entryNames: 'app',
  chunkNames: 'chunk-[hash]',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
};
if (process.argv.includes('--watch')) await (await esbuild.context(options)).watch();
else await esbuild.build(options);
