import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, closest, describeValue, formatIssue, formatPath, KNOWN_KEY, showValue } from './config-error.ts';

describe('ConfigError', () => {
  it('has a stable name and one line per issue in the one template', () => {
    const error = new ConfigError([
      {
        file: 'autoloop.yaml',
        path: 'loops.signals.trigger.cron',
        expected: 'a cron expression like "*/1 * * * *"',
        got: '"every minute"',
      },
      {
        file: 'autoloop.yaml',
        path: '',
        line: 3,
        column: 5,
        expected: 'valid YAML',
        got: 'a tab',
        hint: 'indent with spaces',
      },
    ]);
    assert.equal(error.name, 'ConfigError');
    assert.ok(error instanceof Error);
    assert.equal(
      error.message,
      'autoloop.yaml: loops.signals.trigger.cron: expected a cron expression like "*/1 * * * *", got "every minute"\n' +
        'autoloop.yaml:3:5: expected valid YAML, got a tab; indent with spaces',
    );
  });

  it('states an unknown key as such, with its hint', () => {
    const issue = {
      file: 'f.yaml',
      path: 'loops.x',
      expected: KNOWN_KEY,
      got: 'unknown key "foo"',
      hint: 'allowed keys: a, b',
    };
    assert.equal(formatIssue(issue), 'f.yaml: loops.x: unknown key "foo"; allowed keys: a, b');
  });

  it('names the top level when there is neither a path nor a position', () => {
    assert.equal(
      formatIssue({ file: 'f.yaml', path: '', expected: 'x', got: 'y' }),
      'f.yaml: (top level): expected x, got y',
    );
  });
});

describe('formatting helpers', () => {
  it('formats paths with dots and indices', () => {
    assert.equal(formatPath(['loops', 'demo', 'items', 2, 'key']), 'loops.demo.items[2].key');
    assert.equal(formatPath([]), '');
  });

  it('shows values as written, and with their type for type mismatches', () => {
    assert.equal(showValue('every minute'), '"every minute"');
    assert.equal(showValue(undefined), 'nothing');
    assert.equal(showValue('x'.repeat(200)).length, 80);
    assert.equal(describeValue('ten'), 'string "ten"');
    assert.equal(describeValue(5), 'number 5');
    assert.equal(describeValue(null), 'null (an empty value)');
    assert.equal(describeValue([1]), 'a list [1]');
    assert.equal(describeValue({ a: 1 }), 'a mapping {"a":1}');
  });

  it('guesses the key a typo meant, and only a plausible one', () => {
    assert.equal(closest('polices', ['trigger', 'policies', 'plan']), 'policies');
    assert.equal(closest('Trigger', ['trigger']), 'trigger');
    assert.equal(closest('zzz', ['trigger', 'policies']), undefined);
  });
});
