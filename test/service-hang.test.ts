/**
 * Hang by silence with real processes: a service whose output stops for
 * `hang.silentFor` is restarted (`service.hung`), one that keeps talking is
 * left alone. The config's own scale (`silentFor: 5m`) runs on the virtual
 * clock with a real process; the watch's arithmetic is tested in
 * src/supervisor/silence-watch.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { groupAlive } from '../src/supervisor/process-group.ts';
import { serviceSpec } from '../src/supervisor/service-spec.ts';
import { VirtualClock } from '../src/time/virtual-clock.ts';
import { ofType, startSupervisor, waitUntil } from './support/supervisor-harness.ts';

describe('hang by silence', { timeout: 60_000 }, () => {
  it('a service silent for hang.silentFor is restarted; a chatty one is not', async () => {
    const silentForMs = 2_000;
    const quiet = serviceSpec({
      name: 'quiet',
      argv: ['/bin/sh', '-c', 'for i in 1 2 3 4 5; do echo "tick $i"; sleep 0.1; done; exec sleep 60'],
      hang: { silentForMs },
    });
    const chatty = serviceSpec({
      name: 'chatty',
      argv: ['/bin/sh', '-c', 'while true; do echo tick; sleep 0.1; done'],
      hang: { silentForMs },
    });
    const sv = await startSupervisor([quiet, chatty]);
    try {
      await sv.waitFor('quiet restarted', (e) =>
        ofType(e, 'service.started').some((s) => s.data.service === 'quiet' && s.data.restarts === 1),
      );
      const hung = ofType(sv.events, 'service.hung');
      assert.deepEqual(
        hung.map((e) => e.data.service),
        ['quiet'],
        'only the quiet service hung',
      );
      const [first, second] = ofType(sv.events, 'service.started').filter((e) => e.data.service === 'quiet');
      const silentMs = hung[0]?.data.silentMs ?? 0;
      assert.ok(silentMs >= silentForMs, `silent ${silentMs} ms`);
      // It printed for about 0.5 s, so the hang cannot be declared before 2 s after the start.
      const hungAfterMs = (hung[0]?.wallMs ?? 0) - (first?.wallMs ?? 0);
      assert.ok(hungAfterMs >= silentForMs, `hung ${hungAfterMs} ms after the start`);
      const exited = ofType(sv.events, 'service.exited').find((e) => e.data.service === 'quiet');
      assert.match(exited?.data.reason ?? '', /^hung: no output for \d+ ms$/);
      const restarting = ofType(sv.events, 'service.restarting').find((e) => e.data.service === 'quiet');
      assert.equal(restarting?.data.delayMs, 0, 'a hang restarts at once');
      assert.equal(groupAlive(first?.data.pid as number), false, 'the hung group is gone');
      assert.notEqual(second?.data.pid, first?.data.pid);
      assert.equal(
        ofType(sv.events, 'service.started').filter((e) => e.data.service === 'chatty').length,
        1,
        'the chatty service ran on',
      );
      console.log(`# hang: silent ${silentMs} ms, declared hung ${hungAfterMs} ms after the start`);
    } finally {
      await sv.close();
    }
  });

  it('silentFor: 5m on the virtual clock: a real process that prints nothing is hung 5 min after its start, not at 4 min 59 s', async () => {
    const clock = new VirtualClock();
    // Silent from the spawn: a first line would reach us at a real moment the
    // virtual clock does not know (before or after the advance below), moving
    // the 5 minutes. Resetting on output is the real-time case above.
    const quiet = serviceSpec({
      name: 'quiet',
      argv: ['/bin/sh', '-c', 'exec sleep 600'],
      hang: { silentForMs: 300_000 },
      killTimeoutMs: 5_000,
    });
    // Samples once a virtual minute: the process table is not what this test is about.
    const sv = await startSupervisor([quiet], { clock, sampleIntervalMs: 60_000 });
    try {
      await waitUntil('the process started', () => ofType(sv.events, 'service.started').length === 1);
      await clock.advance(299_000);
      assert.equal(ofType(sv.events, 'service.hung').length, 0, 'not hung at 4 min 59 s');
      await clock.advance(1_000);
      assert.deepEqual(
        ofType(sv.events, 'service.hung').map((e) => e.data.silentMs),
        [300_000],
      );
      // The stop and the restart take real time (the group exits on SIGTERM); the stop polls the group and the zero-delay restart waits on clock timers.
      await settleOn(clock, () => ofType(sv.events, 'service.started').length >= 2, 100);
      const [first, second] = ofType(sv.events, 'service.started');
      assert.notEqual(first?.data.pid, second?.data.pid);
      assert.equal(groupAlive(first?.data.pid as number), false, 'the hung group is gone');
    } finally {
      // The stop's kill timeout sleeps on the virtual clock: move it along until the close is done.
      let closed = false;
      const closing = sv.close().then(() => {
        closed = true;
      });
      await settleOn(clock, () => closed, 1_000);
      await closing;
    }
  });
});

/** Real time passes in 20 ms steps while the virtual clock moves `stepMs` each step, until `done` (at most 20 s). */
async function settleOn(clock: VirtualClock, done: () => boolean, stepMs = 0): Promise<void> {
  const until = Date.now() + 20_000;
  while (!done()) {
    if (Date.now() > until) throw new Error('timed out after 20000 ms');
    await clock.advance(stepMs);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
