/**
 * The decide recipe's effectors on a dependency's rate limit (a runtime on
 * the virtual clock) and on a supervised service's instances (a daemon's
 * runtime from YAML on a real SQLite file, with real child processes), each
 * with its inverse: rollback by id, and the automatic one of verification.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfigText } from '../src/config/load-config.ts';
import type { DecisionRecord } from '../src/recipes/decide/decide-loop.ts';
import { knobOf, reversible, setAgain } from '../src/recipes/decide/effectors.ts';
import type { DecideApi } from '../src/recipes/decide/recipe.ts';
import { runtimeOptionsFromConfig } from '../src/runtime/from-config.ts';
import { loopControl } from '../src/runtime/loop-control.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { NO_SERVICES } from '../src/runtime/service-control.ts';
import { groupAlive } from '../src/supervisor/process-group.ts';
import { journal, setup } from './support/decide-runtime.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('decide: a dependency rate limit as an effector', () => {
  const rule = (dependency: string) => ({
    name: 'ease off',
    target: 'work',
    when: [{ value: 'completionRate', atMost: 0 }],
    do: { type: 'rate_limit', dependency, requests: 2, per: '1s' },
  });

  it('sets the rate at run time; rollback by id puts the previous one back', async () => {
    const s = await setup(
      { defaultRules: false, rules: [rule('api')], minConfidence: 0, verify: false },
      undefined,
      {},
      {
        dependencies: { api: { rateLimit: { requests: 10, per: '1m' } } },
      },
    );
    try {
      const limiter = s.runtime.dependencies.get('api')?.limiter;
      assert.deepEqual(limiter?.rate, { limit: 10, perMs: 60_000 });
      await s.run('work');
      await s.run('autopilot');
      assert.deepEqual(limiter?.rate, { limit: 2, perMs: 1_000 });
      const [entry] = await journal(s.runtime);
      assert.deepEqual(entry?.result, {
        kind: 'executed',
        change: {
          kind: 'rate',
          dependency: 'api',
          previous: { requests: 10, perMs: 60_000 },
          rate: { requests: 2, perMs: 1_000 },
        },
      });
      assert.match(entry?.rationale ?? '', /set api's rate limit to 2 per 1000 ms/);
      const loop = s.runtime.recipe<DecideApi>('decide')?.loops.get('autopilot');
      const rolled = await loop?.rollback(entry?.id ?? '');
      assert.equal(rolled?.result.kind, 'rolled-back');
      assert.deepEqual(limiter?.rate, { limit: 10, perMs: 60_000 });

      // After a restart the limiter runs its config's rate: the change in force is set again, once.
      const change = entry?.result.kind === 'executed' ? entry.result.change : assert.fail('executed');
      assert.ok(reversible(change));
      assert.equal(knobOf(change), 'dependency:api:rate');
      const targets = { control: loopControl(s.runtime), dependencies: s.runtime.dependencies, services: NO_SERVICES };
      assert.deepEqual(await setAgain(change, targets), { kind: 'set', words: 'api rate 2 per 1000 ms' });
      assert.deepEqual(limiter?.rate, { limit: 2, perMs: 1_000 });
      assert.deepEqual(await setAgain(change, targets), { kind: 'same' });
      assert.deepEqual(await setAgain(change, { ...targets, dependencies: new Map() }), { kind: 'gone' });
    } finally {
      await s.stop();
    }
  });

  it('a rule on a dependency without a rateLimit stops the start, naming the path and the limited ones', async () => {
    await assert.rejects(
      setup(
        { defaultRules: false, rules: [rule('db')], minConfidence: 0 },
        undefined,
        {},
        {
          dependencies: {
            db: { breaker: { failureThreshold: 3, recoveryTimeout: '10s' } },
            api: { rateLimit: { requests: 10, per: '1m' } },
          },
        },
      ),
      /decide autopilot: loops\.autopilot\.rules\[0\]\.do\.dependency: expected a dependency with a rateLimit \(api\), got "db"/,
    );
  });
});

describe('decide: a supervised service scaled as an effector (real processes)', { timeout: 60_000 }, () => {
  it('a rule on a service not in services: stops the start, naming the path and the services', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'decide-services-'));
    dirs.push(dir);
    const config = await parseConfigText(
      `store: sqlite://${dir}/state.db
services:
  worker: { command: "exec sleep 300" }
loops:
  work: { trigger: { manual: true }, items: [a], act: { command: "true" } }
  autopilot:
    recipe: decide
    targets: [work]
    rules: [{ target: work, when: [{ value: score, below: 1 }], do: { type: scale_service, service: wroker, instances: 2 } }]
`,
      { file: join(dir, 'autoloop.yaml'), env: {} },
    );
    const runtime = createRuntime(runtimeOptionsFromConfig(config, { http: false }));
    await assert.rejects(
      runtime.start({ schedule: false }),
      /loops\.autopilot\.rules\[0\]\.do\.service: expected a service of services: \(worker\), got "wroker"/,
    );
  });

  it('scales the service 1 -> 3 by a rule; verification finds health worse and scales it back to 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'decide-services-'));
    dirs.push(dir);
    const ok = join(dir, 'ok');
    writeFileSync(ok, '');
    const config = await parseConfigText(
      `store: sqlite://${dir}/state.db
services:
  worker: { command: "exec sleep 300", instances: 1, killTimeout: 2s }
loops:
  work: { trigger: { manual: true }, items: [a, b], act: { command: "test -f ${ok}" }, policies: { retry: { attempts: 1 } } }
  autopilot:
    recipe: decide
    interval: 1h
    targets: [work]
    defaultRules: false
    minConfidence: 0
    verify: { after: 1ms, margin: 0.05 }
    rules:
      - { name: more workers, target: work, when: [{ value: completionRate, atLeast: 1 }], do: { type: scale_service, service: worker, by: 2 } }
`,
      { file: join(dir, 'autoloop.yaml'), env: {} },
    );
    const runtime = createRuntime(runtimeOptionsFromConfig(config, { http: false }));
    const pids = async () => {
      const { services } = (await runtime.snapshot()) as unknown as {
        services: { instances: Array<{ instance: number; state: string; pid: number | null }> };
      };
      return services.instances.filter((i) => i.state === 'running').map((i) => i.pid as number);
    };
    let seen: number[] = [];
    const running = async (n: number) => {
      for (let i = 0; i < 500; i++) {
        seen = await pids();
        if (seen.length === n) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(seen.length, n, `${n} instance(s) running`);
    };
    await runtime.start({ schedule: false });
    try {
      await running(1);
      await runtime.run('work');
      await runtime.run('autopilot');
      await running(3);
      const three = seen;
      const read = async () =>
        (await runtime.store.journals.read('decide:autopilot')).map((e) => e.value as DecisionRecord);
      const [executed] = await read();
      assert.deepEqual(executed?.result, {
        kind: 'executed',
        change: { kind: 'instances', service: 'worker', previous: 1, instances: 3 },
      });
      assert.match(executed?.rationale ?? '', /scale worker by \+2/);

      rmSync(ok);
      await runtime.run('work');
      await runtime.run('autopilot');
      const rolled = (await read()).find((e) => e.result.kind === 'rolled-back');
      assert.ok(rolled, 'rolled back by verification');
      assert.deepEqual(rolled.result.kind === 'rolled-back' && rolled.result.change, {
        kind: 'instances',
        service: 'worker',
        previous: 3,
        instances: 1,
      });
      await running(1);
      for (const pid of three.slice(1)) assert.equal(groupAlive(pid), false, `instance ${pid} is gone`);
      assert.equal(groupAlive(three[0] as number), true, 'instance 0 runs on');

      // The executed change set again (as after a restart), through the services the recipe was lent.
      const change = executed?.result.kind === 'executed' ? executed.result.change : assert.fail('executed');
      assert.ok(reversible(change));
      assert.equal(knobOf(change), 'service:worker:instances');
      const services = runtime.options.serviceControl ?? assert.fail('no service control');
      const targets = { control: loopControl(runtime), dependencies: runtime.dependencies, services };
      assert.deepEqual(await setAgain(change, targets), { kind: 'set', words: 'worker 3 instance(s)' });
      await running(3);
      assert.deepEqual(await setAgain(change, targets), { kind: 'same' });
    } finally {
      await runtime.stop();
    }
  });
});
