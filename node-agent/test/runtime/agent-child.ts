// Stands in for an agent process in the restart test: starts containers, reports them, then waits to be SIGKILLed.
import { prepareHost } from '../../src/host/prepare-host.js';
import { ConmonRuntime } from '../../src/runtime/conmon-runtime.js';

const [root, runtimeRoot, ...ids] = process.argv.slice(2);
const host = await prepareHost();
const rt = new ConmonRuntime({ host, root: root ?? '', runtimeRoot: runtimeRoot ?? '' });
const states = [];
for (const id of ids) {
  states.push(
    await rt.run(id, {
      args: ['sh', '-c', 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.05; done'],
      resources: { memoryBytes: 32 << 20 },
    }),
  );
}
process.stdout.write(`${JSON.stringify(states)}\n`);
setInterval(() => undefined, 1 << 30);
