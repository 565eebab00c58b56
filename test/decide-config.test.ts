/**
 * `recipe: decide` from YAML: the registry's built-in entry loads it, the
 * seed's environment knobs come in through `${VAR:-default}`, and a config
 * that senses nothing, or a misspelt key, is an error naming the loop.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../src/config/load-config.ts';
import { decideLoopOf } from '../src/recipes/decide/decide-loop.ts';

// biome-ignore lint/suspicious/noTemplateCurlyInString: the config's ${VAR} interpolation, not a JS template
const KNOB = 'minConfidence: "${DSLMODEL_AUTO_MIN_CONFIDENCE:-0.6}"';
const yaml = (body: string) =>
  `store: memory://\nloops:\n  work:\n    trigger: { manual: true }\n    act: { command: "true" }\n${body}`;

describe('decide: YAML', () => {
  it('loads with the seed knobs through interpolation', async () => {
    const config = await parseConfigText(
      yaml(`  autopilot:\n    recipe: decide\n    interval: 10s\n    targets: [work]\n    ${KNOB}\n    dryRun: true\n`),
      { file: '/tmp/autoloop.yaml', env: { DSLMODEL_AUTO_MIN_CONFIDENCE: '0.8' } },
    );
    const loop = config.loops.find((l) => l.name === 'autopilot');
    assert.ok(loop);
    assert.deepEqual(loop.trigger, { kind: 'interval', everyMs: 10_000 });
    const decide = decideLoopOf(loop);
    assert.equal(decide?.config.minConfidence, 0.8);
    assert.equal(decide?.config.dryRun, true);
    assert.deepEqual(decide?.config.targets, ['work']);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['senses nothing', '  autopilot:\n    recipe: decide\n', /loops\.autopilot.*something to sense/s],
    [
      'a misspelt key',
      '  autopilot:\n    recipe: decide\n    targets: [work]\n    minConfidenc: 0.5\n',
      /minConfidenc/,
    ],
    [
      'a confidence above 1',
      '  autopilot:\n    recipe: decide\n    targets: [work]\n    minConfidence: 2\n',
      /loops\.autopilot\.minConfidence/,
    ],
  ];
  for (const [name, body, message] of bad) {
    it(`rejects ${name}`, async () => {
      await assert.rejects(parseConfigText(yaml(body), { file: '/tmp/autoloop.yaml', env: {} }), message);
    });
  }
});
