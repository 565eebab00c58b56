/**
 * The decide recipe's memory survives a restart: three runtimes, one after
 * the other, on the same SQLite file. The first executes a scale-up (its
 * verification pending); the second sets the change in force again at its
 * first cycle, holds the target while the verification is pending, then
 * rolls the decision back when its window is over and health got worse;
 * the third still holds the rolled-back target and still has the score
 * history of the first two.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DecisionRecord } from '../src/recipes/decide/decide-loop.ts';
import type { DecideApi } from '../src/recipes/decide/recipe.ts';
import { SeededEntropy } from '../src/time/seeded-entropy.ts';
import { VirtualClock } from '../src/time/virtual-clock.ts';
import { journal, setup } from './support/decide-runtime.ts';

const T0 = Date.UTC(2026, 5, 1);

const reasonOf = (record: DecisionRecord | undefined) =>
  record && 'reason' in record.result ? record.result.reason : assert.fail(`no reason in ${JSON.stringify(record)}`);

/** The decide test runtime (`work`: concurrency 2, items fail unless `ok(key)`) on the SQLite `file`, its clock at `now`. */
async function start(file: string, now: number, ok: (key: string) => boolean) {
  // Each runtime its own seed: the same one would make the same cycle ids as the runtime before.
  const entropy = new SeededEntropy(now - T0 + 1);
  const act = (key: string) => {
    if (!ok(key)) throw new Error('down');
  };
  const options = { verify: { after: '1m', margin: 0.01 } };
  const s = await setup(options, act, {}, { store: `sqlite://${file}`, clock: new VirtualClock({ now }), entropy });
  const history = () => s.runtime.recipe<DecideApi>('decide')?.loops.get('autopilot')?.history ?? [];
  return { ...s, journal: () => journal(s.runtime), history };
}

describe('decide: memory across restarts (SQLite)', () => {
  it('a pending verification is completed (rolled back) after a restart, and the held target stays held', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'decide-restart-'));
    const file = join(dir, 'state.db');
    try {
      const first = await start(file, T0, (key) => key === 'a');
      await first.run('work'); // 1 of 3: 0.1333 + 0.12 + 0.2 + 0.005 = 0.4583
      const decided = await first.run('autopilot');
      assert.equal(first.runtime.loop('work').pool.concurrency, 3, 'scaled up 2 -> 3');
      await first.stop();

      const second = await start(file, T0 + 10_000, () => false);
      assert.equal(second.runtime.loop('work').pool.concurrency, 2, 'a new runtime starts from the config');
      await second.run('work');
      await second.run('work'); // 1 of 9 with 3 agents: 0.0444 + 0.18 + 0.2 + 0.015 = 0.4394
      await second.run('autopilot');
      assert.equal(second.runtime.loop('work').pool.concurrency, 3, "decide's change in force is set again");
      let entries = await second.journal();
      assert.deepEqual(
        entries.map((e) => e.result.kind),
        ['executed', 'held'],
      );
      assert.match(reasonOf(entries[1]), new RegExp(`^work: ${decided.id}:1 is being verified until `));
      await second.clock.advance(60_000);
      await second.run('autopilot');
      assert.equal(second.runtime.loop('work').pool.concurrency, 2, 'rolled back after the restart');
      entries = await second.journal();
      const rolled = entries.find((e) => e.result.kind === 'rolled-back');
      assert.equal(rolled?.id, `${decided.id}:1:verify`);
      assert.equal(reasonOf(rolled), 'health 0.4583 -> 0.4394 within 60000 ms: worse by more than 0.01');
      await second.stop();

      const third = await start(file, T0 + 90_000, () => false);
      await third.run('autopilot');
      assert.equal(third.runtime.loop('work').pool.concurrency, 2, 'still rolled back');
      const last = (await third.journal()).at(-1);
      assert.equal(last?.type, 'scale_up');
      assert.equal(last?.result.kind, 'held');
      assert.match(reasonOf(last), /^work was rolled back; held until /);
      assert.deepEqual(
        third.history().map((p) => p.score),
        [0.4583, 0.4394, 0.4394, 0.3794], // the last with 2 agents again: 0.0444 + 0.12 + 0.2 + 0.015
        'the score history of all three runtimes',
      );
      await third.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
