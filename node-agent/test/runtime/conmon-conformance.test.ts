// ConmonRuntime on real crun + conmon (root) passes the Runtime conformance suite.
import t from 'tap';
import { ConmonRuntime } from '../../src/runtime/conmon-runtime.js';
import { setUp } from './harness.js';
import { runtimeConformance } from './runtime-conformance.js';

runtimeConformance(t, 'ConmonRuntime', async (t) => {
  const h = await setUp(t);
  return {
    runtime: h.rt,
    newId: (prefix) => h.newId(prefix),
    reopen: () => new ConmonRuntime({ host: h.host, root: h.root, runtimeRoot: h.runtimeRoot }),
  };
});
