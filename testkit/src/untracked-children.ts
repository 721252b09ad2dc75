// Loaded into every test process (package.json "tap" node-arg): the processes a test spawns run without tap's
// process-tracking loader.
//
// tap's @tapjs/processinfo adds its loader to the NODE_OPTIONS of every child a test spawns, so it can gather
// their coverage. The suite runs with coverage off, and in a Node child the loader costs ~0.4 s of CPU to start and
// more for each module it loads (its hooks run on another thread and copy every module's source): the suite spawns
// a few hundred `berth` processes on a 2-core machine. processinfo registers its spawn hook in process-on-spawn's
// process-wide list (a documented global singleton); emptying the list and taking the loader out of NODE_OPTIONS
// leaves tap's own tracking of the test process itself as it is.

const spawnHooks = (globalThis as Record<symbol, { listeners?: unknown[] } | undefined>)[
  Symbol.for('process-on-spawn@*:singletonId')
];
if (spawnHooks?.listeners) spawnHooks.listeners.length = 0;

const options = process.env.NODE_OPTIONS;
if (options) {
  const kept = options
    .split(/\s+/)
    .filter((option) => !/@tapjs[/\\]processinfo/.test(option))
    .join(' ')
    .trim();
  if (kept) process.env.NODE_OPTIONS = kept;
  else delete process.env.NODE_OPTIONS;
}
