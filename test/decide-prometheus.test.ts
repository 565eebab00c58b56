/**
 * The decide recipe with a real Prometheus server as a sensor (Debian's
 * `prometheus` package; scripts/install-test-deps.sh installs it). The test
 * starts the server on a free loopback port with a temp config that scrapes
 * the runtime's own `/metrics` every second; the decide loop's user rule
 * reads an instant query of the failed items and scales the failing loop up
 * through the runtime's control port. A query that matches several series
 * and one that matches none are reported by name, and the cycle goes on.
 * A second decide loop takes its queue reading from a query
 * (`sources.readings`), so the seed's own score and rules act on it.
 * Nothing is skipped: without the binary the test fails and says how to
 * install it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DecisionRecord } from '../src/recipes/decide/decide-loop.ts';
import { instantQuery } from '../src/recipes/decide/prometheus-sensor.ts';
import { type DecideApi, decide } from '../src/recipes/decide/recipe.ts';
import { recipeLoops } from '../src/recipes/recipe.ts';
import { createRuntime, type Runtime } from '../src/runtime/runtime.ts';
import { systemClock } from '../src/time/system-clock.ts';
import { freePort } from './support/supervisor-harness.ts';

const PROMETHEUS = '/usr/bin/prometheus';

/** Polls `check` every 250 ms until it returns a value, for at most `ms`. */
async function waitFor<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within ${ms} ms (last error: ${(last as Error | undefined)?.message ?? 'none'})`);
}

describe('decide: a Prometheus server as a sensor', () => {
  let dir: string;
  let runtime: Runtime;
  let server: ChildProcess | undefined;
  let promUrl: string;
  let stderr = '';

  before(async () => {
    const found = spawnSync(PROMETHEUS, ['--version'], { encoding: 'utf8' });
    assert.equal(
      found.status,
      0,
      'prometheus is missing: run scripts/install-test-deps.sh as root (apt-get install -y prometheus)',
    );
    dir = mkdtempSync(join(tmpdir(), 'decide-prometheus-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    runtime = createRuntime({
      loops: [
        {
          name: 'work',
          trigger: { manual: true },
          plan: () => [{ key: 'a' }, { key: 'b' }, { key: 'c' }],
          act: () => {
            throw new Error('down');
          },
          policies: { concurrency: 2, retry: { attempts: 1 } },
        },
        ...recipeLoops(decide, 'autopilot', {
          targets: ['work'],
          defaultRules: false,
          minConfidence: 0,
          sources: {
            prometheus: {
              url: promUrl,
              timeout: '10s',
              queries: {
                failed: 'sum(autoloop_items_total{loop="work",outcome="failed"})',
                every: 'autoloop_cycles_total',
                missing: 'no_such_metric_total',
              },
            },
          },
          rules: [
            {
              name: 'failures',
              target: 'work',
              when: [{ value: 'failed', atLeast: 3 }],
              do: { type: 'scale_up', amount: 2 },
            },
          ],
        }),
        // The seed's own rules and score over a Prometheus number: its queue is the failed items x 5.
        ...recipeLoops(decide, 'seedrules', {
          targets: ['work'],
          dryRun: true,
          sources: {
            prometheus: {
              url: promUrl,
              timeout: '10s',
              queries: { backlog: 'sum(autoloop_items_total{loop="work",outcome="failed"}) * 5' },
            },
            readings: { workQueueSize: 'backlog' },
          },
        }),
      ],
      http: { host: '127.0.0.1', port: 0 },
    });
    await runtime.start({ schedule: false });
    const target = new URL(runtime.url ?? assert.fail('no runtime url')).host;
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      `global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: autoloop
    static_configs: [{ targets: ["${target}"] }]
`,
    );
    server = spawn(
      PROMETHEUS,
      [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    server.stderr?.on('data', (d) => {
      stderr = (stderr + d).slice(-4_000);
    });
    await waitFor('prometheus ready', 60_000, async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined));
  });

  after(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    await runtime?.stop({ graceMs: 1_000 });
    rmSync(dir, { recursive: true, force: true });
  });

  it('a user rule on an instant query scales the loop up; bad queries are named problems', async () => {
    const work = await runtime.run('work');
    assert.equal(work.counts.failed, 3);
    // Scraped every second; the failures are visible once a scrape after the cycle landed.
    const failed = await waitFor('the failed items in prometheus', 60_000, async () => {
      const v = await instantQuery(
        { url: promUrl, timeoutMs: 5_000 },
        'sum(autoloop_items_total{loop="work",outcome="failed"})',
        systemClock,
      );
      return v >= 3 ? v : undefined;
    }).catch((error: Error) => assert.fail(`${error.message}\nprometheus stderr:\n${stderr}`));
    assert.equal(failed, 3);

    const cycle = await runtime.run('autopilot');
    assert.equal(cycle.counts.succeeded, 1, JSON.stringify(cycle));
    assert.equal(runtime.loop('work').pool.concurrency, 4, 'the rule added 2 (2 -> 4)');

    const entries = (await runtime.store.journals.read('decide:autopilot')).map((e) => e.value as DecisionRecord);
    assert.equal(entries.length, 1);
    const [entry] = entries;
    assert.equal(entry?.rule, 'failures');
    assert.equal(entry?.type, 'scale_up');
    assert.deepEqual(entry?.result, {
      kind: 'executed',
      change: { kind: 'concurrency', loop: 'work', previous: 2, limit: 4 },
    });
    assert.match(entry?.rationale ?? '', /^rule "failures": failed 3 >= 3 in 1\/1 samples; /);

    const status = runtime.recipe<DecideApi>('decide')?.loops.get('autopilot')?.status;
    assert.equal(status?.targets[0]?.values?.failed, 3);
    const problems = Object.fromEntries((status?.problems ?? []).map((p) => [p.file, p.reason]));
    assert.deepEqual(Object.keys(problems), ['prometheus:every', 'prometheus:missing']);
    assert.match(problems['prometheus:every'] ?? '', /^\d+ series; expected one: aggregate it/);
    assert.equal(problems['prometheus:missing'], 'no series (the query matched nothing yet)');
  });

  it("a query as the queue reading: the seed's score and coordination_improve use it", async () => {
    // After the first test: its 3 failed items were scraped.
    await runtime.run('seedrules');
    const status = runtime.recipe<DecideApi>('decide')?.loops.get('seedrules')?.status;
    assert.deepEqual(status?.problems, []);
    assert.equal(status?.targets[0]?.readings.workQueueSize, 15, '3 failed items x 5, from prometheus');
    const entries = (await runtime.store.journals.read('decide:seedrules')).map((e) => e.value as DecisionRecord);
    const improve = entries.find((e) => e.type === 'coordination_improve');
    assert.deepEqual(improve?.parameters, { process: 10 }, '"Queue size 15 -> process 10"');
    assert.equal(improve?.result.kind, 'dry-run');
    assert.match(improve?.rationale ?? '', /queue 15/);
  });

  it('a server that does not answer is a named problem, not a failed cycle', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    await assert.rejects(instantQuery({ url: down, timeoutMs: 2_000 }, 'up', systemClock), /fetch failed|ECONNREFUSED/);
  });
});
