/**
 * `autoloop decide loop` against a real daemon (real processes, SQLite,
 * HTTP on loopback): `--max-cycles 2 --json` prints two JSON lines and
 * exits 0; with `--max-cycles 0` it runs until SIGINT / SIGTERM, which end
 * it within the hour-long interval, after its line; bad flags are usage
 * errors naming the flag.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { finished, spawnAutoloop, waitFor } from './support/cli.ts';
import { startDecideDaemon } from './support/decide-daemon.ts';

describe('decide: autoloop decide loop', () => {
  const dir = mkdtempSync(join(tmpdir(), 'decide-loop-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs cycles in the daemon, one line each; --max-cycles, SIGINT and SIGTERM end it', async () => {
    const project = join(dir, 'project');
    const token = 'decide-loop-admin-token';
    const daemon = await startDecideDaemon(project, token, ['verify: false', 'minInterval: 0']);
    const { file, env, cli } = daemon;
    try {
      const two = await cli(['decide', 'loop', '--interval', '0.2', '--max-cycles', '2', '--json']);
      assert.equal(two.code, 0, two.stderr);
      const lines = two.stdout.trim().split('\n');
      assert.equal(lines.length, 2, two.stdout);
      const [first, second] = lines.map(
        (l) =>
          JSON.parse(l) as {
            cycle: number;
            id: string;
            health_score: number;
            health_state: string;
            target: string;
            decisions: Array<{ type: string; cycleId: string; result: { kind: string } }>;
          },
      );
      assert.equal(first?.cycle, 1);
      assert.equal(second?.cycle, 2);
      assert.notEqual(first?.id, second?.id);
      assert.equal(first?.target, 'work');
      assert.equal(first?.health_state, 'degraded');
      assert.ok(first?.decisions.every((d) => d.cycleId === first.id));
      assert.deepEqual(
        [first, second].map((c) => c?.decisions.find((d) => d.type === 'scale_up')?.result.kind),
        ['executed', 'executed'],
        'minInterval 0: each cycle scales up',
      );
      assert.match(two.stderr, /decide loop: stopped after 2 cycles; 0 failed/);

      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        const forever = spawnAutoloop(['decide', 'loop', '--interval', '1h', '--config', file], { cwd: project, env });
        const done = finished(forever, 30_000);
        await waitFor(forever, (o) => o.stdout.includes('\n'));
        forever.kill(signal);
        const ended = await done;
        assert.equal(ended.code, 0, `${signal}: ${ended.stderr}`);
        assert.match(
          ended.stdout,
          /^\S+Z cycle 1 \S+: health 0\.\d+ (critical|degraded) \(work\); \d+ decisions: .*\n$/,
          `${signal}: one line`,
        );
        assert.match(ended.stderr, new RegExp(`stopped after 1 cycle \\(${signal}\\); 0 failed`));
        assert.doesNotMatch(ended.stdout + ended.stderr, /decide-loop-admin-token/);
      }
    } finally {
      await daemon.stop();
    }

    const bad = await cli(['decide', 'loop', '--interval', 'soon']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /decide loop: --interval: expected a duration like 30s or 2m, .* got "soon"/);
    const negative = await cli(['decide', 'loop', '--max-cycles', '-1']);
    assert.equal(negative.code, 2);
    assert.match(negative.stderr, /--max-cycles: expected an integer >= 0 \(0: forever\), got "-1"/);
    const none = await cli(['decide', 'loop', '--max-cycles', '1']);
    assert.equal(none.code, 1, 'no daemon: the first cycle fails the command');
  });
});
