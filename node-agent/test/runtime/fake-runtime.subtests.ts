// The in-memory FakeRuntime passes the same Runtime conformance suite as ConmonRuntime, so reconcile tests that
// use it ask nothing of a runtime that the real one does not give; and its test-only levers do what they say.
import t from 'tap';
import { FakeHost, FakeRuntime } from './fake-runtime.js';
import { runtimeConformance } from './runtime-conformance.js';

runtimeConformance(t, 'FakeRuntime', async (t) => {
  const host = new FakeHost();
  t.teardown(() => host.shutdown());
  let n = 0;
  return {
    runtime: new FakeRuntime(host),
    newId: async (prefix) => `${prefix}-${n++}`,
    reopen: () => new FakeRuntime(host),
  };
});

t.test(
  'FakeRuntime: exit ends a container with a code, failNext fails one call, configOf shows the config',
  async (t) => {
    const host = new FakeHost();
    t.teardown(() => host.shutdown());
    const rt = new FakeRuntime(host);
    await rt.run('c1', { args: ['sleep', '60'], env: { A: '1' } });
    t.same(rt.configOf('c1'), { args: ['sleep', '60'], env: { A: '1' } });
    t.equal(rt.configOf('nope'), undefined);
    rt.exit('c1', 9);
    const st = await rt.state('c1');
    t.equal(st.status, 'exited');
    t.equal(st.exitCode, 9);
    t.throws(() => rt.exit('c1', 1), { code: 'ContainerNotRunning' });

    const boom = new Error('disk full');
    rt.failNext('create', boom);
    await t.rejects(rt.create('c2', { args: ['true'] }), boom);
    await t.rejects(rt.state('c2'), { code: 'ContainerNotFound' }, 'the failed create made nothing');
    t.equal((await rt.create('c2', { args: ['true'] })).status, 'created', 'only the next call fails');
  },
);

t.test('FakeRuntime: a script it cannot interpret is refused, not pretended', async (t) => {
  const rt = new FakeRuntime();
  await t.rejects(rt.create('c1', { args: ['sh', '-c', 'for i in 1 2; do echo $i; done'] }), {
    code: 'InvalidConfig',
    message: /cannot interpret/,
  });
  await t.rejects(rt.create('c2', { args: ['sh', 'script.sh'] }), { code: 'InvalidConfig' });
});
