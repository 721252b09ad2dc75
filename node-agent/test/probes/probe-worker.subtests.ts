// A probe worker's kubelet semantics with a scripted probe and fractions of a second for a period: results change
// only after failureThreshold or successThreshold tries in a row, a liveness failure holds the worker, nothing runs
// within initialDelaySeconds or while disabled, unknown outcomes count for nothing; and the Prober's verdict.
import t from 'tap';
import type { Container, Probe } from '@berth/api';
import { eventually } from '@berth/testkit';
import type { ProbeOutcome } from '../../src/probes/probe-handlers.js';
import { Prober } from '../../src/probes/prober.js';
import { ProbeWorker, type ProbeKind } from '../../src/probes/probe-worker.js';

/** A worker whose probe answers from `script` (then the last entry forever); a period of 20 ms. */
function scripted(kind: ProbeKind, script: ProbeOutcome[], probe: Partial<Probe> = {}, enabled = () => true) {
  let tries = 0;
  const results: ProbeOutcome[] = [];
  const failures: string[] = [];
  const worker: ProbeWorker = new ProbeWorker({
    kind,
    probe: { periodSeconds: 0.02, ...probe },
    startedAtMs: Date.now(),
    run: async () => {
      const outcome = script[Math.min(tries, script.length - 1)] ?? 'unknown';
      tries++;
      return { outcome, output: `try ${tries}` };
    },
    enabled,
    failed: (output) => failures.push(output),
    changed: () => results.push(worker.result),
  });
  t.teardown(() => worker.stop());
  return { worker, results, failures, tries: () => tries };
}

t.test('readiness starts failed and turns only after successThreshold successes in a row', async (t) => {
  const w = scripted('readiness', ['success', 'failure', 'success', 'success', 'success'], { successThreshold: 2 });
  t.equal(w.worker.result, 'failure', 'not ready before any try');
  t.ok(await eventually(() => w.worker.result === 'success', 2_000));
  t.ok(w.tries() >= 4, `ready after the 2nd success in a row (try ${w.tries()})`);
  t.same(w.results, ['success'], 'one failure under failureThreshold changes nothing; then one change');
});

t.test('failureThreshold failures in a row are needed; a success in between starts over', async (t) => {
  const w = scripted('readiness', ['success', 'failure', 'failure', 'success', 'failure', 'failure', 'failure'], {
    failureThreshold: 3,
  });
  t.ok(await eventually(() => w.results.length === 2, 2_000));
  t.same(w.results, ['success', 'failure']);
  t.ok(w.tries() >= 7, `failed only at the 3rd failure in a row (try ${w.tries()})`);
  t.ok(w.failures.length >= 5, 'every failed try is reported (the Unhealthy Event)');
});

t.test('a liveness failure holds the worker: no more tries until a new one', async (t) => {
  const w = scripted('liveness', ['failure'], { failureThreshold: 1 });
  t.equal(w.worker.result, 'success', 'alive before any try');
  t.ok(await eventually(() => w.worker.result === 'failure', 2_000));
  const tries = w.tries();
  t.notOk(await eventually(() => w.tries() > tries, 200), 'no try after the failure');
});

t.test('unknown outcomes, a disabled worker and the initial delay run nothing that counts', async (t) => {
  const unknown = scripted('readiness', ['unknown']);
  t.notOk(await eventually(() => unknown.results.length > 0, 200), 'unknown changes nothing');
  let on = false;
  const gated = scripted('readiness', ['success'], {}, () => on);
  t.notOk(await eventually(() => gated.tries() > 0, 200), 'disabled: not run');
  on = true;
  t.ok(await eventually(() => gated.worker.result === 'success', 2_000), 'runs once enabled');
  const delayed = scripted('readiness', ['success'], { initialDelaySeconds: 0.3 });
  t.notOk(await eventually(() => delayed.tries() > 0, 150), 'not within the delay');
  t.ok(await eventually(() => delayed.worker.result === 'success', 2_000), 'runs after it');
});

const container = (spec: Partial<Container['spec']>, status?: Container['status']): Container => ({
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'Container',
  metadata: { name: 'c', namespace: 'default', uid: 'u1' },
  spec: { image: 'busybox', ...spec },
  ...(status !== undefined ? { status } : {}),
});

t.test(
  "the Prober's verdict: no probes is ready; startup holds the rest; a resumed run keeps its readiness",
  async (t) => {
    const prober = new Prober({
      exec: async () => ({ code: 0, output: '' }),
      event: () => undefined,
      changed: () => undefined,
    });
    t.teardown(() => prober.close());
    const startedAt = '2026-01-01T00:00:00.000Z';
    const plain = container({});
    prober.sync(plain, 'u1', 'default/c', startedAt, () => plain);
    t.same(prober.verdict('u1'), { started: true, ready: true });

    const exec = { exec: { command: ['true'] }, periodSeconds: 0.02 };
    const probed = container({ startupProbe: exec, readinessProbe: exec });
    prober.sync(probed, 'u2', 'default/c', startedAt, () => probed);
    t.same(prober.verdict('u2'), { started: false, ready: false, message: 'startup probe has not succeeded yet' });
    t.ok(await eventually(() => prober.verdict('u2').ready, 2_000), 'ready after startup, then readiness, succeed');

    const resumed = container(
      { readinessProbe: { exec: { command: ['false'] }, periodSeconds: 100 } },
      {
        containerID: 'u3',
        startedAt: '2026-01-01T00:00:00Z',
        conditions: [{ type: 'Ready', status: 'True', reason: 'ContainerRunning' }],
      },
    );
    prober.sync(resumed, 'u3', 'default/c', startedAt, () => resumed);
    t.equal(prober.verdict('u3').ready, true, 'Ready as status said for this run, until a probe says otherwise');
    prober.remove('u3');
    t.same(prober.verdict('u3'), { started: true, ready: true }, 'removed: no probes known');
  },
);
