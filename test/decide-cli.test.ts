/**
 * `autoloop decide analyze [--json]` (changes nothing), then
 * `autoloop decide status [--json]` after `autoloop run` of a decide loop
 * over the seed's coordination directory (sqlite store, real processes):
 * the seed's status fields, a malformed file named, the decision journaled.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { autoloop } from './support/cli.ts';
import { startDecideDaemon } from './support/decide-daemon.ts';

describe('decide: CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'decide-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('decide status shows the seed fields of the last analysis and the decisions', async () => {
    const coordination = join(dir, 'coordination');
    mkdirSync(coordination);
    writeFileSync(join(coordination, 'agent_1.json'), '{"status": "active"}');
    for (let i = 0; i < 15; i++) writeFileSync(join(coordination, `work_${i}.json`), `{"task": ${i}}`);
    writeFileSync(join(coordination, 'telemetry_bad.json'), '{"span": ');
    const file = join(dir, 'autoloop.yaml');
    writeFileSync(
      file,
      [
        'store: sqlite://./state.db',
        'loops:',
        '  autopilot:',
        '    recipe: decide',
        '    sources: { loops: false, coordination: ./coordination }',
        '',
      ].join('\n'),
    );
    const analyze = await autoloop(['decide', 'analyze', '--json', '--config', file], { cwd: dir });
    assert.equal(analyze.code, 0, analyze.stderr);
    const analysis = JSON.parse(analyze.stdout) as {
      targets: Array<{ target: string; score: number; state: string }>;
      decisions: Array<{ type: string; parameters: unknown; priority: number; confidence: number }>;
    };
    assert.deepEqual(
      analysis.targets.map((t) => [t.target, t.score, t.state]),
      [['coordination', 0.06, 'critical']],
    );
    assert.deepEqual(
      analysis.decisions.map((d) => [d.type, d.parameters, d.priority, d.confidence]),
      [
        ['scale_up', { add: 3, from: 1, to: 4 }, 0, 0.84],
        ['coordination_improve', { process: 10 }, 1, 0.69],
      ],
    );
    const analyzeText = await autoloop(['decide', 'analyze', '--config', file], { cwd: dir });
    assert.equal(analyzeText.code, 0, analyzeText.stderr);
    assert.match(analyzeText.stdout, /scale_up\s+coordination\s+0\s+0\.84\s+health 0\.06 \(critical\)/);
    const before = await autoloop(['decide', 'status', '--config', file], { cwd: dir });
    assert.equal(before.code, 1, 'analyze journals nothing: the loop has not run');

    const run = await autoloop(['run', 'autopilot', '--config', file], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);

    const json = await autoloop(['decide', 'status', '--json', '--config', file], { cwd: dir });
    assert.equal(json.code, 0, json.stderr);
    const body = JSON.parse(json.stdout) as {
      data: { status: { health_score: number; health_state: string; active_agents: number; work_queue_size: number } };
      problems: Array<{ file: string }>;
      recent_decisions: Array<{ type: string; target: string; result: { kind: string } }>;
    };
    // completion 0/15 -> 0, agents 1/5 * 0.3 = 0.06, queue 15 -> 0, telemetry 0
    assert.deepEqual(body.data.status, {
      ...body.data.status,
      health_score: 0.06,
      health_state: 'critical',
      active_agents: 1,
      work_queue_size: 15,
    });
    assert.deepEqual(
      body.problems.map((p) => p.file),
      ['telemetry_bad.json'],
    );
    assert.deepEqual(body.recent_decisions.map((d) => [d.type, d.target, d.result.kind]).sort(), [
      ['coordination_improve', 'coordination', 'no-effector'],
      ['scale_up', 'coordination', 'no-effector'],
    ]);

    const text = await autoloop(['decide', 'status', '--config', file], { cwd: dir });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /coordination\s+0\.06\s+critical/);
    assert.match(text.stdout, /skipped telemetry_bad\.json: not JSON/);

    const history = await autoloop(['decide', 'history', '--json', '--config', file], { cwd: dir });
    assert.equal(history.code, 0, history.stderr);
    const journaled = JSON.parse(history.stdout) as { loop: string; decisions: Array<{ type: string }> };
    assert.equal(journaled.loop, 'autopilot');
    assert.deepEqual(journaled.decisions.map((d) => d.type).sort(), ['coordination_improve', 'scale_up']);
    const badLimit = await autoloop(['decide', 'history', '--limit', '0', '--config', file], { cwd: dir });
    assert.equal(badLimit.code, 2);
    assert.match(badLimit.stderr, /decide history: --limit: expected an integer >= 1, got "0"/);

    const unknown = await autoloop(['decide', 'status', 'nope', '--config', file], { cwd: dir });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /"nope" is not a decide loop in .*; decide loops: autopilot/);
  });

  it('decide execute and rollback <id> act in the running daemon with the admin token', async () => {
    const { url, cli, stop } = await startDecideDaemon(join(dir, 'daemon'), 'decide-cli-admin-token', [
      'verify: false',
    ]);
    try {
      const concurrency = async () => {
        const status = (await (await fetch(`${url}/status`)).json()) as {
          loops: Array<{ name: string; concurrency: number }>;
        };
        return status.loops.find((l) => l.name === 'work')?.concurrency;
      };
      assert.equal(await concurrency(), 2);

      // Same user: the instance's runtime file gives the token, the shell needs none.
      const local = await cli(['decide', 'execute', '--dry-run'], { AUTOLOOP_TOKEN: '' });
      assert.equal(local.code, 0, local.stderr);
      const wrong = await cli(['decide', 'execute', '--dry-run'], { AUTOLOOP_TOKEN: 'not-the-daemon-token' });
      assert.equal(wrong.code, 0, 'the runtime file wins over a stale token in the shell');

      const dry = await cli(['decide', 'execute', '--dry-run', '--json']);
      assert.equal(dry.code, 0, dry.stderr);
      const dryBody = JSON.parse(dry.stdout) as { decisions: Array<{ type: string; result: { kind: string } }> };
      assert.deepEqual(
        dryBody.decisions.filter((d) => d.type === 'scale_up').map((d) => d.result.kind),
        ['dry-run'],
      );
      assert.equal(await concurrency(), 2, '--dry-run holds for that cycle: nothing changed');
      const bad = await cli(['decide', 'execute', '--min-confidence', '2']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /HTTP 400: minConfidence: expected a number in \[0, 1\], got "2"/);

      const executed = await cli(['decide', 'execute', '--json']);
      assert.equal(executed.code, 0, executed.stderr);
      const body = JSON.parse(executed.stdout) as {
        decisions: Array<{ id: string; type: string; result: { kind: string } }>;
      };
      const scale = body.decisions.find((d) => d.type === 'scale_up');
      assert.equal(scale?.result.kind, 'executed');
      assert.equal(await concurrency(), 3);

      const rolled = await cli(['decide', 'rollback', scale?.id ?? '']);
      assert.equal(rolled.code, 0, rolled.stderr);
      assert.match(rolled.stdout, /^rolled back .*: \{"kind":"concurrency","loop":"work","previous":3,"limit":2\}/);
      assert.equal(await concurrency(), 2);
      const again = await cli(['decide', 'rollback', scale?.id ?? '']);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /HTTP 409: decide: .* was rolled back already/);
      for (const r of [executed, rolled, again]) assert.doesNotMatch(r.stdout + r.stderr, /decide-cli-admin-token/);
    } finally {
      await stop();
    }
  });
});
