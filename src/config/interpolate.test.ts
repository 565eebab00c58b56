// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings test the literal ${VAR} syntax of config files
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpolateString } from './interpolate.ts';
import { readYaml } from './yaml-source.ts';

describe('interpolateString', () => {
  const env = { HOST: 'db', EMPTY: '', PORT: '5432' };

  it('replaces set variables and applies defaults when unset or empty', () => {
    assert.deepEqual(interpolateString('postgres://${HOST}:${PORT}', env), {
      value: 'postgres://db:5432',
      missing: [],
      malformed: [],
    });
    assert.equal(interpolateString('${NOPE:-fallback}', env).value, 'fallback');
    assert.equal(interpolateString('${EMPTY:-fallback}', env).value, 'fallback');
    assert.equal(interpolateString('${EMPTY}', env).value, '');
    assert.equal(interpolateString('${NOPE:-}', env).value, '');
    assert.equal(interpolateString('${NOPE:-a b:c}', env).value, 'a b:c');
  });

  it('reports unset variables without a default, and malformed expressions', () => {
    assert.deepEqual(interpolateString('${A} and ${B:-b} and ${C}', env).missing, ['A', 'C']);
    assert.deepEqual(interpolateString('${not valid} ${', env).malformed, ['${not valid}', '${']);
  });

  it('writes a literal ${ for $${, and leaves other dollars alone', () => {
    assert.equal(interpolateString('$${HOST} costs $5 ${HOST}', env).value, '${HOST} costs $5 db');
  });
});

describe('interpolating a YAML document', () => {
  it('interpolates values, not keys, and records whole substitutions by path', () => {
    const raw = readYaml('${KEY}: 1\nlist:\n  - ${A}\n  - x${A}\n', 'f.yaml', { A: '7', KEY: 'k' });
    assert.ok(raw.ok);
    assert.deepEqual(raw.data, { '${KEY}': 1, list: ['7', 'x7'] });
    assert.deepEqual([...raw.interpolation.substituted.keys()], ['list[0]']);
    assert.deepEqual(raw.interpolation.substituted.get('list[0]'), { path: ['list', 0], expression: '${A}' });
  });

  it('names the path, line and column of a missing variable', () => {
    const raw = readYaml('a:\n  b:\n    - c: "x ${MISSING}"\n', 'f.yaml', {});
    assert.ok(raw.ok);
    assert.deepEqual(raw.interpolation.issues, [
      {
        file: 'f.yaml',
        path: 'a.b[0].c',
        line: 3,
        column: 10,
        expected: 'environment variable MISSING to be set',
        got: 'no such variable',
        hint: 'set it, or give a default: ${MISSING:-value}',
      },
    ]);
  });

  it('does not let a value change the structure of the document', () => {
    const raw = readYaml('a: ${V}\n', 'f.yaml', { V: '{ injected: true }\nb: 2' });
    assert.ok(raw.ok);
    assert.deepEqual(raw.data, { a: '{ injected: true }\nb: 2' });
  });
});
