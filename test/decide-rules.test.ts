/**
 * The decide recipe's user rules (`rules:` with `when`/`do`), its effectors
 * through the runtime's control port (pause and resume with rollback, run
 * now, a webhook on loopback, the ceiling of an adaptive loop), and the
 * anti-flap interval per target. Runtimes on the virtual clock.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { parseConfigText } from '../src/config/load-config.ts';
import type { Sample } from '../src/recipes/decide/decision-rules.ts';
import { SEED_RULES } from '../src/recipes/decide/decision-rules.ts';
import type { DecideApi } from '../src/recipes/decide/recipe.ts';
import { type UserRuleSpec, userRule } from '../src/recipes/decide/user-rules.ts';
import { journal, setup } from './support/decide-runtime.ts';

const sample = (score: number, values: Record<string, number> = {}, agents = 2): Sample => ({
  at: 0,
  readings: { completionRate: 0.5, activeAgents: agents, workQueueSize: 4, telemetryVolume: 10 },
  score,
  values,
});

describe('decide: user rules (pure)', () => {
  const spec: UserRuleSpec = {
    name: 'slow',
    target: 'fetch',
    when: [
      { value: 'p95Ms', above: 2_000 },
      { value: 'workQueueSize', atLeast: 4 },
    ],
    do: { type: 'scale_up', amount: 2 },
    priority: 1,
  };
  const rule = userRule(spec);
  const rows: Array<[string, Sample[], { confidence: number; to: number } | undefined]> = [
    [
      'both hold in the one sample: 0.5 + 0.3*min(0.25, 0) + 0.2/5',
      [sample(0.5, { p95Ms: 2_500 })],
      { confidence: 0.54, to: 4 },
    ],
    [
      'held in 2 of 4 samples, 0.5 past p95 and 0.5 past queue... queue exactly at 4 (margin 0)',
      [sample(0.5, { p95Ms: 1_000 }), sample(0.5, { p95Ms: 3_000 }), sample(0.5, {}), sample(0.5, { p95Ms: 3_000 })],
      { confidence: 0.41, to: 4 },
    ],
    ['a strict bar equal to the value does not hold', [sample(0.5, { p95Ms: 2_000 })], undefined],
    ['a missing value (no latency yet) does not hold', [sample(0.5)], undefined],
    ['at maxAgents nothing to add', [sample(0.5, { p95Ms: 9_000 }, 10)], undefined],
  ];
  for (const [name, window, want] of rows) {
    it(name, () => {
      const d = rule('fetch', window, SEED_RULES);
      if (!want) return assert.equal(d, undefined);
      assert.ok(d);
      assert.equal(d.type, 'scale_up');
      assert.equal(d.rule, 'slow');
      assert.equal(d.priority, 1);
      assert.equal(d.confidence, want.confidence);
      assert.equal(d.parameters.to, want.to);
      assert.match(d.rationale, /^rule "slow": p95Ms \d+ > 2000, workQueueSize 4 >= 4 in \d\/\d samples; health 0\.5/);
    });
  }
  it('proposes only for its own target', () => {
    assert.equal(rule('other', [sample(0.5, { p95Ms: 2_500 })], SEED_RULES), undefined);
  });
});

describe('decide: rules and effectors in a runtime', () => {
  it('pause when nothing completes; rollback by id resumes the loop', async () => {
    const s = await setup({
      defaultRules: false,
      rules: [
        { name: 'stop it', target: 'work', when: [{ value: 'completionRate', atMost: 0 }], do: { type: 'pause' } },
      ],
      minConfidence: 0,
    });
    try {
      await s.run('work');
      await s.run('autopilot');
      assert.equal(s.runtime.loop('work').paused, true);
      const [entry] = await journal(s.runtime);
      assert.deepEqual(entry?.result, {
        kind: 'executed',
        change: { kind: 'paused', loop: 'work', previous: false, paused: true },
      });
      const loop = s.runtime.recipe<DecideApi>('decide')?.loops.get('autopilot');
      const rolled = await loop?.rollback(entry?.id ?? '');
      assert.equal(rolled?.result.kind, 'rolled-back');
      assert.equal(s.runtime.loop('work').paused, false);
      await assert.rejects(loop?.rollback(entry?.id ?? '') ?? Promise.resolve(), /was rolled back already/);
    } finally {
      await s.stop();
    }
  });

  it('run_now runs a cycle of the target now; such a change has no inverse', async () => {
    const s = await setup({
      defaultRules: false,
      rules: [{ target: 'work', when: [{ value: 'completionRate', below: 0.5 }], do: { type: 'run_now' } }],
      minConfidence: 0,
    });
    try {
      await s.run('work');
      await s.run('autopilot');
      const cycles = await s.runtime.store.cycles.list('work', { limit: 10 });
      assert.equal(cycles.length, 2, 'the manual run and the one decide started');
      const [entry] = await journal(s.runtime);
      assert.equal(entry?.rule, 'rule 1');
      assert.equal(entry?.result.kind, 'executed');
      const loop = s.runtime.recipe<DecideApi>('decide')?.loops.get('autopilot');
      await assert.rejects(loop?.rollback(entry?.id ?? '') ?? Promise.resolve(), /run change, which cannot be undone/);
    } finally {
      await s.stop();
    }
  });

  it('webhook: POSTs the decision as JSON to a loopback server', async () => {
    const bodies: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        bodies.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const s = await setup({
      defaultRules: false,
      rules: [{ name: 'page', target: 'work', when: [{ value: 'score', below: 0.6 }], do: { type: 'webhook', url } }],
      minConfidence: 0,
    });
    try {
      await s.run('work');
      await s.run('autopilot');
      assert.equal(bodies.length, 1);
      assert.equal((bodies[0] as { rule: string }).rule, 'page');
      const [entry] = await journal(s.runtime);
      assert.deepEqual(entry?.result, { kind: 'executed', change: { kind: 'webhook', url, status: 204 } });
    } finally {
      await s.stop();
      server.close();
    }
  });

  it('an adaptive loop: decide moves its ceiling, the adaptive limit follows it', async () => {
    const s = await setup({ verify: false }, undefined, { adaptive: { min: 1 } });
    try {
      await s.run('work');
      await s.run('autopilot');
      const adaptive = s.runtime.governor('work').adaptive;
      assert.equal(adaptive?.max, 3, 'the ceiling went 2 -> 3');
      assert.equal(adaptive?.limit, 3);
      assert.equal(s.runtime.loop('work').pool.concurrency, 3);
    } finally {
      await s.stop();
    }
  });

  it('anti-flap: no second decision on a target within minInterval', async () => {
    const s = await setup({ verify: false, minInterval: '5m' });
    try {
      await s.run('work');
      await s.run('autopilot');
      assert.equal(s.runtime.loop('work').pool.concurrency, 3);
      await s.clock.advance(60_000);
      await s.run('autopilot');
      assert.equal(s.runtime.loop('work').pool.concurrency, 3, 'held');
      await s.clock.advance(240_000);
      await s.run('autopilot');
      assert.equal(s.runtime.loop('work').pool.concurrency, 4, 'after 5 minutes');
      const entries = await journal(s.runtime);
      assert.deepEqual(
        entries.map((e) => e.result.kind),
        ['executed', 'held', 'executed'],
      );
      assert.match(JSON.stringify(entries[1]?.result), /minInterval 300000 ms"/);
    } finally {
      await s.stop();
    }
  });
});

describe('decide: rules in YAML, errors named where', () => {
  const yaml = (rule: string) => `store: memory://
loops:
  work: { trigger: { interval: 1m }, items: [a], act: { command: "true" } }
  autopilot:
    recipe: decide
    targets: [work]
    rules:
      - ${rule}
`;
  const errors: Array<[string, string, RegExp]> = [
    [
      'an unknown target',
      '{ target: fetch, when: [{ value: score, below: 0.5 }], do: { type: pause } }',
      /loops\.autopilot\.rules\[0\]\.target: expected a sensed target \(work; add the loop to targets\), got "fetch"/,
    ],
    [
      'an unknown value',
      '{ target: work, when: [{ value: p99, above: 1 }], do: { type: pause } }',
      /loops\.autopilot\.rules\[0\]\.when\[0\]\.value: expected a reading \(completionRate, .*\), a query named in sources\.prometheus\.queries, or <sensor>\.<key> of sources\.sensors \(none\), got "p99"/,
    ],
    [
      'a condition without a bar',
      '{ target: work, when: [{ value: score }], do: { type: pause } }',
      /loops\.autopilot\.rules\[0\]\.when\[0\]: expected a bar: above, below, atLeast or atMost/,
    ],
    [
      'an unknown action',
      '{ target: work, when: [{ value: score, below: 1 }], do: { type: reboot } }',
      /loops\.autopilot\.rules\[0\]\.do\.type: expected one of the allowed forms, got string "reboot"/,
    ],
  ];
  for (const [name, rule, message] of errors) {
    it(name, async () => {
      await assert.rejects(parseConfigText(yaml(rule), { file: 'autoloop.yaml', env: {} }), message);
    });
  }
  it('a valid rule loads', async () => {
    const config = await parseConfigText(
      yaml('{ target: work, when: [{ value: workQueueSize, atLeast: 10 }], do: { type: scale_up, amount: 2 } }'),
      { file: 'autoloop.yaml', env: {} },
    );
    assert.ok(config.loops.find((l) => l.name === 'autopilot'));
  });
});
