/**
 * The decide recipe: the seed's coordination directory as a sensor (a
 * truncated file and files of the wrong shape reported by name and
 * skipped), and a decide loop in a runtime on the virtual clock that scores
 * a failing loop, scales its concurrency up through the runner, journals
 * every decision with its evidence, serves `GET /decide`, sets
 * `autonomous_health_score`, and rolls the change back by id; dry run and
 * the confidence bar journal without acting; the verification window rolls
 * back a decision after which health got worse and holds its target.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Hono } from 'hono';
import type { HttpTools } from '../src/http/extension.ts';
import { readCoordination } from '../src/recipes/decide/coordination-sensor.ts';
import type { DecideApi } from '../src/recipes/decide/recipe.ts';
import { journal, setup } from './support/decide-runtime.ts';

describe('decide: the coordination directory sensor', () => {
  it('counts agents, work, completed and telemetry; names and skips malformed files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'decide-coord-'));
    try {
      const files: Record<string, string> = {
        'agent_1.json': '{"id": "a1", "status": "active"}',
        'agent_2.json': '{"id": "a2"}',
        'agent_3.json': '{"id": "a3", "status": "idle"}',
        'agent_truncated.json': '{"id": "a4", "stat',
        'agent_badtype.json': '{"status": 5}',
        'work_1.json': '{"task": 1}',
        'work_2.json': '{"task": 2}',
        'work_3.json': '{"task": 3}',
        'work_list.json': '[1, 2]',
        'completed_1.json': '{"task": 0}',
        'telemetry_1.json': '[{"span": 1}, {"span": 2}, {"span": 3}]',
        'telemetry_2.json': '{"span": 4}',
        'notes.txt': 'ignored',
      };
      for (const [name, body] of Object.entries(files)) await writeFile(join(dir, name), body);
      const reading = await readCoordination(dir);
      assert.deepEqual(reading.readings, {
        completionRate: 0.25,
        activeAgents: 2,
        workQueueSize: 3,
        telemetryVolume: 4,
      });
      assert.deepEqual(reading.files, { agent: 3, work: 3, completed: 1, telemetry: 2 });
      assert.deepEqual(
        reading.problems.map((p) => p.file),
        ['agent_badtype.json', 'agent_truncated.json', 'work_list.json'],
      );
      assert.match(reading.problems[0]?.reason ?? '', /^wrong shape for a agent file: status: /);
      assert.match(reading.problems[1]?.reason ?? '', /^not JSON: /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('decide: the loop in a runtime', () => {
  it('scores a failing loop degraded, adds an agent, journals it, serves GET /decide, rolls back by id', async () => {
    const s = await setup({});
    try {
      const api = s.runtime.recipe<DecideApi>('decide') ?? assert.fail('decide api');
      const work = await s.run('work');
      assert.equal(work.counts.failed, 3);
      const cycle = await s.run('autopilot');
      assert.deepEqual(cycle.counts, { planned: 1, succeeded: 1, failed: 0, skipped: 0 });
      assert.equal(s.runtime.loop('work').pool.concurrency, 3, 'degraded: 2 -> 3');

      const [entry, ...rest] = await journal(s.runtime);
      assert.equal(rest.length, 0);
      assert.ok(entry);
      assert.equal(entry.type, 'scale_up');
      assert.equal(entry.target, 'work');
      assert.deepEqual(entry.readings, { completionRate: 0, activeAgents: 2, workQueueSize: 0, telemetryVolume: 1 });
      assert.equal(entry.score, 0.325); // 0 + 2/5*0.3 + 1*0.2 + 1/20*0.1
      assert.equal(entry.state, 'degraded');
      assert.equal(entry.confidence, 0.82); // 0.5 + 0.3 * 0.275/0.3 + 0.2 * 1/5
      assert.match(
        entry.rationale,
        /^health 0\.325 \(degraded\): completion rate 0, 2 agent\(s\), queue 0, telemetry 1; /,
      );
      assert.deepEqual(entry.result, {
        kind: 'executed',
        change: { kind: 'concurrency', loop: 'work', previous: 2, limit: 3 },
      });

      const ext = s.runtime.recipes.extensions().find((e) => e.path === '/decide') ?? assert.fail('no /decide');
      const app = new Hono();
      ext.register?.(app, {} as HttpTools);
      const body = (await (await app.request('/')).json()) as {
        loops: Array<{
          name: string;
          latest: { targets: Array<{ score: number; state: string }> };
          history: Array<{ target: string; score: number; state: string }>;
          decisions: unknown[];
        }>;
      };
      assert.equal(body.loops[0]?.name, 'autopilot');
      assert.deepEqual(
        body.loops[0]?.latest.targets.map((t) => [t.score, t.state]),
        [[0.325, 'degraded']],
      );
      assert.equal(body.loops[0]?.decisions.length, 1);
      assert.deepEqual(
        body.loops[0]?.history.map((h) => [h.target, h.score, h.state]),
        [['work', 0.325, 'degraded']],
        'the score over time the panel draws',
      );
      assert.match(ext.panel?.script ?? '', /^export async function mount\(section, helpers\)/m);
      assert.equal(ext.panel?.title, 'Decide');

      const metrics = (await s.runtime.metrics?.registry.metrics()) ?? '';
      assert.match(metrics, /^autonomous_health_score\{loop="autopilot",target="work"\} 0\.325$/m);
      assert.match(metrics, /^autonomous_decisions_total\{loop="autopilot",type="scale_up",result="executed"\} 1$/m);

      const rolled = await api.loops.get('autopilot')?.rollback(entry.id);
      assert.deepEqual(rolled?.result, {
        kind: 'rolled-back',
        of: entry.id,
        change: { kind: 'concurrency', loop: 'work', previous: 3, limit: 2 },
        reason: 'by hand',
      });
      assert.equal(s.runtime.loop('work').pool.concurrency, 2, 'the previous limit is back');
      assert.equal((await journal(s.runtime)).length, 2);
    } finally {
      await s.stop();
    }
  });

  const verdicts: Array<[string, Record<string, unknown>, string]> = [
    ['dryRun journals "dry-run" and changes nothing', { dryRun: true }, 'dry-run'],
    ['a confidence under minConfidence is not executed', { minConfidence: 0.9 }, 'below-confidence'],
    ['max 0 executes nothing', { max: 0 }, 'over-max'],
  ];
  for (const [name, options, kind] of verdicts) {
    it(name, async () => {
      const s = await setup(options);
      try {
        await s.run('work');
        const cycle = await s.run('autopilot');
        assert.equal(cycle.counts.planned, 0);
        assert.equal(s.runtime.loop('work').pool.concurrency, 2);
        const entries = await journal(s.runtime);
        assert.deepEqual(
          entries.map((e) => [e.type, e.result.kind]),
          [['scale_up', kind]],
        );
      } finally {
        await s.stop();
      }
    });
  }

  it('verification: a decision after which health got worse is rolled back and its target held; a better one is verified', async () => {
    let mode: 'some' | 'none' = 'some';
    const s = await setup({ verify: { after: '1m', margin: 0.01 } }, (key) => {
      if (mode === 'some' && key === 'a') return 'ok';
      throw new Error('down');
    });
    try {
      await s.run('work'); // 1 of 3: 0.1333 + 0.12 + 0.2 + 0.005 = 0.4583
      await s.run('autopilot');
      assert.equal(s.runtime.loop('work').pool.concurrency, 3);
      mode = 'none';
      await s.run('work');
      await s.run('work'); // 1 of 9, 3 agents: 0.0444 + 0.18 + 0.2 + 0.015 = 0.4394
      await s.run('autopilot');
      assert.equal(s.runtime.loop('work').pool.concurrency, 3, 'held while verifying: the window is 1 minute');
      await s.clock.advance(60_000);
      await s.run('autopilot');
      assert.equal(s.runtime.loop('work').pool.concurrency, 2, 'rolled back');
      const entries = await journal(s.runtime);
      const rolled = entries.find((e) => e.result.kind === 'rolled-back');
      assert.ok(rolled);
      assert.match(rolled.id, /:verify$/);
      assert.equal(
        (rolled.result as { reason: string }).reason,
        'health 0.4583 -> 0.4394 within 60000 ms: worse by more than 0.01',
      );
      assert.deepEqual(
        entries.slice(-2).map((e) => [e.type, e.result.kind]),
        [
          ['scale_up', 'rolled-back'],
          ['scale_up', 'held'],
        ],
      );
      assert.deepEqual(
        entries.map((e) => e.result.kind),
        ['executed', 'held', 'rolled-back', 'held'],
      );
    } finally {
      await s.stop();
    }
  });

  it('verification: health no worse -> verified, the change stays', async () => {
    const s = await setup({ verify: { after: '1m', margin: 0.05 } });
    try {
      await s.run('work');
      await s.run('autopilot'); // 0.325: 2 -> 3
      await s.run('work');
      await s.clock.advance(60_000);
      await s.run('autopilot'); // 0 + 0.18 + 0.2 + 0.01 = 0.39: verified, then 3 -> 4
      const entries = await journal(s.runtime);
      const verified = entries.find((e) => e.result.kind === 'verified');
      assert.deepEqual(verified?.result, { kind: 'verified', of: entries[0]?.id, before: 0.325, after: 0.39 });
      assert.equal(s.runtime.loop('work').pool.concurrency, 4);
    } finally {
      await s.stop();
    }
  });
});
