// Says where a V8 heap snapshot's bytes are: by node type, by constructor, and by module (each script's source
// text plus the functions, bytecode and feedback compiled from it), so an idle-memory figure has an address.
// Not a test: run with
//   node --conditions=berth-src --import=tsx bench/heap-summary.ts FILE.heapsnapshot [--top 15]

import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

interface Snapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: string[];
      readonly node_types: [string[], ...unknown[]];
      readonly edge_fields: string[];
      readonly edge_types: [string[], ...unknown[]];
    };
  };
  readonly nodes: number[];
  readonly edges: number[];
  readonly strings: string[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '15' } },
});
const file = positionals[0];
if (file === undefined) throw new RangeError('usage: heap-summary.ts FILE.heapsnapshot [--top N]');
const top = Number(values.top);

const snap = JSON.parse(await readFile(file, 'utf8')) as Snapshot;
const { meta } = snap.snapshot;
const nodeWidth = meta.node_fields.length;
const edgeWidth = meta.edge_fields.length;
const nType = meta.node_fields.indexOf('type');
const nName = meta.node_fields.indexOf('name');
const nSize = meta.node_fields.indexOf('self_size');
const nEdges = meta.node_fields.indexOf('edge_count');
const eType = meta.edge_fields.indexOf('type');
const eName = meta.edge_fields.indexOf('name_or_index');
const eTo = meta.edge_fields.indexOf('to_node');
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const { nodes, edges, strings } = snap;
const count = nodes.length / nodeWidth;

const typeOf = (n: number): string => nodeTypes[nodes[n * nodeWidth + nType] as number] ?? '?';
const nameOf = (n: number): string => strings[nodes[n * nodeWidth + nName] as number] ?? '';
const sizeOf = (n: number): number => nodes[n * nodeWidth + nSize] as number;

// Each node's first edge index, to walk a node's edges.
const firstEdge = new Uint32Array(count + 1);
for (let n = 0, e = 0; n < count; n++) {
  firstEdge[n] = e;
  e += (nodes[n * nodeWidth + nEdges] as number) * edgeWidth;
  firstEdge[n + 1] = e;
}
function* edgesOf(n: number): Generator<{ type: string; name: string; to: number }> {
  for (let e = firstEdge[n] as number; e < (firstEdge[n + 1] as number); e += edgeWidth) {
    const type = edgeTypes[edges[e + eType] as number] ?? '?';
    const raw = edges[e + eName] as number;
    const name = type === 'element' || type === 'hidden' ? String(raw) : (strings[raw] ?? '');
    yield { type, name, to: (edges[e + eTo] as number) / nodeWidth };
  }
}

const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(2);
const table = (title: string, rows: Map<string, number>, limit: number) => {
  const sorted = [...rows].sort((a, b) => b[1] - a[1]);
  const total = sorted.reduce((s, [, v]) => s + v, 0);
  console.log(`\n${title} (total ${mb(total)} MB)`);
  for (const [k, v] of sorted.slice(0, limit)) console.log(`${mb(v).padStart(8)} MB  ${k}`);
};

const byType = new Map<string, number>();
const byConstructor = new Map<string, number>();
let total = 0;
for (let n = 0; n < count; n++) {
  const t = typeOf(n);
  const s = sizeOf(n);
  total += s;
  byType.set(t, (byType.get(t) ?? 0) + s);
  if (t === 'object' || t === 'closure' || t === 'array' || t === 'code' || t === 'hidden')
    byConstructor.set(
      `${t}: ${nameOf(n).slice(0, 60)}`,
      (byConstructor.get(`${t}: ${nameOf(n).slice(0, 60)}`) ?? 0) + s,
    );
}
console.log(`${file}: ${count} nodes, ${mb(total)} MB self size`);
table('by node type', byType, top);
table('by constructor or system name (self size)', byConstructor, top);

// A module's cost: its Script's source string, plus every SharedFunctionInfo whose `script` edge points at it and
// what hangs off that function info alone (bytecode, feedback metadata, scope info, preparse data).
// Scripts are `code` nodes named by their URL with a `source` edge; a function info is a `code` node whose
// `script_or_debug_info` edge points at one.
const scriptName = new Map<number, string>();
for (let n = 0; n < count; n++) {
  if (typeOf(n) !== 'code') continue;
  for (const e of edgesOf(n)) if (e.name === 'source') scriptName.set(n, nameOf(n));
}
const byModule = new Map<string, number>();
const add = (script: number, bytes: number) => {
  const key = moduleOf(scriptName.get(script) ?? '');
  byModule.set(key, (byModule.get(key) ?? 0) + bytes);
};
for (const [script] of scriptName)
  for (const e of edgesOf(script)) if (e.name === 'source' && e.type !== 'weak') add(script, sizeOf(e.to));
// Each node is counted once, for the first function info that holds it (outer scopes are shared).
const counted = new Uint8Array(count);
for (let n = 0; n < count; n++) {
  if (typeOf(n) !== 'code') continue;
  let script = -1;
  for (const e of edgesOf(n)) if (e.name === 'script_or_debug_info' && scriptName.has(e.to)) script = e.to;
  if (script < 0) continue;
  let own = sizeOf(n);
  counted[n] = 1;
  for (const e of edgesOf(n))
    if (e.type === 'internal' && typeOf(e.to) === 'code' && !scriptName.has(e.to) && counted[e.to] === 0) {
      counted[e.to] = 1;
      own += sizeOf(e.to);
    }
  add(script, own);
}
table('by module (script source + its compiled functions)', byModule, top);

/** A package (node_modules/NAME or @scope/NAME), a berth workspace, or node's own modules. */
function moduleOf(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const pkg = /.*node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg?.[1] !== undefined) return pkg[1];
  const berth = /\/(api|apiserver|cli|controller-runtime|controllers|node-agent|testkit)\/(?:dist|src)\//.exec(path);
  if (berth?.[1] !== undefined) return `@berth/${berth[1]}`;
  if (path.startsWith('node:') || !path.includes('/')) return "node's own (node:*)";
  return path;
}
