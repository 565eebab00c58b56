/**
 * The decide recipe's own sensors (a TS module, a command), a TS scorer, TS
 * rules and `sources.readings`, in a runtime from YAML on a real SQLite file
 * with real commands on the real clock: what each reads and what becomes of
 * a sensor that hangs, a command that times out, a value that is no number,
 * a scorer out of [0, 1] and a rule's malformed decision, each named.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfigText } from '../src/config/load-config.ts';
import type { DecisionRecord } from '../src/recipes/decide/decide-loop.ts';
import type { DecideApi } from '../src/recipes/decide/recipe.ts';
import { runtimeOptionsFromConfig } from '../src/runtime/from-config.ts';
import { createRuntime } from '../src/runtime/runtime.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function fixture(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'decide-modules-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const MODULES = {
  'sensors.ts': `
export const read = ({ targets }: { targets: string[] }) => ({ depth: 12, targets: targets.length, weird: 'x' });
export const hang = () => new Promise(() => {});
`,
  'score.ts': `
export const score = ({ readings }: { readings: { workQueueSize: number } }) => (readings.workQueueSize > 10 ? 0.25 : 0.9);
export const tooHigh = () => 1.5;
`,
  'rules.ts': `
type Input = { target: string; window: Array<{ score: number; values?: Record<string, number> }> };
export const drain = ({ window }: Input) => {
  const now = window[window.length - 1];
  return { type: 'run_now', priority: 1, confidence: 0.9, rationale: 'backlog depth ' + now?.values?.['backlog.depth'] + ', health ' + now?.score };
};
export const broken = () => ({ type: 'scale_up', parameters: { to: 3 }, confidence: 2, rationale: 'too sure' });
`,
};

function yaml(dir: string, extra = ''): string {
  return `store: sqlite://${dir}/state.db
loops:
  work: { trigger: { manual: true }, items: [a], act: { command: "true" } }
  autopilot:
    recipe: decide
    interval: 1h
    targets: [work]
    defaultRules: false
    minConfidence: 0
    verify: false
    minInterval: 0s
    sources:
      sensors:
        backlog: { module: ./sensors.ts#read }
        stuck: { module: ./sensors.ts#hang, timeout: 300ms }
        disk: { command: "printf '{\\"free\\": 42, \\"unit\\": \\"GB\\"}'" }
        slow: { command: "sleep 10", timeout: 300ms }
      readings: { workQueueSize: backlog.depth }
${extra}`;
}

describe('decide: TS and command sensors, a TS scorer, TS rules', { timeout: 60_000 }, () => {
  it('reads named numbers, scores with the module, proposes by the TS rule; every fault is a named problem', async () => {
    const dir = fixture(MODULES);
    const config = await parseConfigText(
      yaml(
        dir,
        `    score: { module: ./score.ts#score }
    rules:
      - { module: ./rules.ts#drain }
      - { name: overconfident, module: ./rules.ts#broken }
      - { name: disk-ok, target: work, when: [{ value: disk.free, atLeast: 40 }], do: { type: pause } }
`,
      ),
      { file: join(dir, 'autoloop.yaml'), env: {} },
    );
    const runtime = createRuntime(runtimeOptionsFromConfig(config, { http: false }));
    await runtime.start({ schedule: false });
    try {
      await runtime.run('work');
      const cycle = await runtime.run('autopilot');
      assert.equal(cycle.outcome.kind, 'ok', JSON.stringify(cycle.outcome));
      const status = runtime.recipe<DecideApi>('decide')?.loops.get('autopilot')?.status;
      const [work] = status?.targets ?? [];
      assert.equal(work?.readings.workQueueSize, 12, 'sources.readings took the sensor value');
      assert.equal(work?.score, 0.25, 'the TS scorer, not the formula');
      assert.equal(work?.state, 'critical');
      assert.deepEqual(Object.fromEntries(Object.entries(work?.values ?? {}).filter(([k]) => k.includes('.'))), {
        'backlog.depth': 12,
        'backlog.targets': 1,
        'disk.free': 42,
      });
      const problems = Object.fromEntries((status?.problems ?? []).map((p) => [p.file, p.reason]));
      assert.match(problems['module:backlog'] ?? '', /not finite numbers, left out: weird \("x"\)/);
      assert.match(problems['command:disk'] ?? '', /left out: unit \("GB"\)/);
      assert.match(problems['module:stuck'] ?? '', /no answer within 300 ms/);
      assert.match(problems['command:slow'] ?? '', /300 ?ms/);
      assert.match(
        problems['rule:overconfident'] ?? '',
        /\.\/rules\.ts#broken: confidence: expected a number in \[0, 1\], got 2/,
      );
      const entries = (await runtime.store.journals.read('decide:autopilot')).map((e) => e.value as DecisionRecord);
      const byRule = Object.fromEntries(entries.map((e) => [e.rule, e]));
      assert.equal(byRule.drain?.type, 'run_now');
      assert.equal(byRule.drain?.result.kind, 'executed');
      assert.equal(byRule.drain?.rationale, 'backlog depth 12, health 0.25');
      assert.equal(byRule['disk-ok']?.type, 'pause');
      assert.match(byRule['disk-ok']?.rationale ?? '', /disk\.free 42 >= 40/);
      assert.equal(byRule.overconfident, undefined, 'the malformed decision was dropped');
    } finally {
      await runtime.stop();
    }
  });

  it('a scorer out of [0, 1] leaves the target unscored this cycle, a problem naming the module', async () => {
    const dir = fixture(MODULES);
    const config = await parseConfigText(yaml(dir, '    score: { module: ./score.ts#tooHigh }\n'), {
      file: join(dir, 'autoloop.yaml'),
      env: {},
    });
    const runtime = createRuntime(runtimeOptionsFromConfig(config, { http: false }));
    await runtime.start({ schedule: false });
    try {
      await runtime.run('autopilot');
      const status = runtime.recipe<DecideApi>('decide')?.loops.get('autopilot')?.status;
      assert.deepEqual(status?.targets, []);
      const problem = status?.problems.find((p) => p.file === 'score:work');
      assert.match(
        problem?.reason ?? '',
        /scorer \.\/score\.ts#tooHigh returned 1\.5 for work; expected a number in \[0, 1\]/,
      );
    } finally {
      await runtime.stop();
    }
  });

  it('a module that does not load stops the start, naming its path and what it exports', async () => {
    const dir = fixture(MODULES);
    const config = await parseConfigText(
      yaml(dir, '    score: { module: ./score.ts#scroe }\n    rules: [{ module: ./missing.ts#x }]\n'),
      { file: join(dir, 'autoloop.yaml'), env: {} },
    );
    const runtime = createRuntime(runtimeOptionsFromConfig(config, { http: false }));
    await assert.rejects(runtime.start({ schedule: false }), (error: Error) => {
      assert.match(
        error.message,
        /loops\.autopilot\.score\.module: expected an export named "scroe" in \.\/score\.ts, got no such export; its function exports: score, tooHigh/,
      );
      assert.match(error.message, /loops\.autopilot\.rules\[0\]\.module: expected a module file at \.\/missing\.ts/);
      return true;
    });
    await runtime.stop().catch(() => {});
  });
});

describe('decide: sensors in YAML, errors named where', () => {
  const load = (sources: string, rules = '') =>
    parseConfigText(
      `store: memory://
loops:
  work: { trigger: { interval: 1m }, items: [a], act: { command: "true" } }
  autopilot:
    recipe: decide
    targets: [work]
    sources: ${sources}
${rules}`,
      { file: 'autoloop.yaml', env: {} },
    );
  it('a rule on a value of no sensor', async () => {
    await assert.rejects(
      load(
        '{ sensors: { backlog: { command: "./read" } } }',
        '    rules: [{ target: work, when: [{ value: queue.depth, above: 1 }], do: { type: pause } }]',
      ),
      /loops\.autopilot\.rules\[0\]\.when\[0\]\.value: expected .*<sensor>\.<key> of sources\.sensors \(backlog\), got "queue\.depth"/,
    );
  });
  it('a reading mapped from an unknown value', async () => {
    await assert.rejects(
      load('{ readings: { workQueueSize: depth } }'),
      /loops\.autopilot\.sources\.readings\.workQueueSize: expected a query named in sources\.prometheus\.queries, or <sensor>\.<key>/,
    );
  });
  it('a sensor of neither form', async () => {
    await assert.rejects(
      load('{ sensors: { backlog: { run: "./read" } } }'),
      /loops\.autopilot\.sources\.sensors\.backlog: /,
    );
  });
  it('a TS rule with a bad module reference names its field', async () => {
    await assert.rejects(
      load('{ loops: true }', '    rules: [{ module: "rules.ts" }]'),
      /loops\.autopilot\.rules\[0\]\.module: expected a module reference like/,
    );
  });
});
