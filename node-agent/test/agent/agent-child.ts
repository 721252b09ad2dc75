// Runs a node agent in its own process for the restart test, which SIGKILLs it; options come as JSON in argv[2].
import { startNodeAgent, type NodeAgentOptions } from '../../src/index.js';

const options = JSON.parse(process.argv[2] ?? '{}') as NodeAgentOptions;
await startNodeAgent({ ...options, logLevel: 'warn' });
process.stdout.write('ready\n');
setInterval(() => undefined, 1 << 30);
