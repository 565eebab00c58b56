/**
 * The settings sections built on first use: without the section, the
 * defaults written beside it are what its full schema gives; with it, the
 * full schema's issues come back at their paths under the section's key,
 * worded as the settings' own issues are.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { lazySection } from './lazy-section.ts';
import { OBSERVABILITY_LAZY_SECTIONS } from './observability-schema.ts';
import { services } from './services-schema.ts';
import { simulate, slo } from './simulate-schema.ts';
import { validate } from './zod-issues.ts';

describe('lazySection', () => {
  const sections = { ...OBSERVABILITY_LAZY_SECTIONS, services, simulate, slo };

  for (const [name, section] of Object.entries(sections)) {
    it(`${name}: the value without the section is what its full schema gives`, () => {
      assert.deepEqual(section.absent(), section.build().parse(undefined));
    });
  }

  it('builds the schema only for a config that has the section, once', () => {
    let builds = 0;
    const section = lazySection(
      () => {
        builds += 1;
        return z.strictObject({ every: z.number().int().min(1).default(5) });
      },
      () => ({ every: 5 }),
    );
    const settings = z.strictObject({ other: z.string().optional(), section: section.schema });
    assert.deepEqual(settings.parse({ other: 'x' }), { other: 'x', section: { every: 5 } });
    assert.equal(builds, 0, 'absent: not built');
    assert.deepEqual(settings.parse({ section: { every: 2 } }), { section: { every: 2 } });
    assert.deepEqual(settings.parse({ section: {} }), { section: { every: 5 } });
    assert.equal(builds, 1);
  });

  it("reports the full schema's issues at their paths under the section, worded as the settings' own", () => {
    const settings = z.strictObject({ alerts: OBSERVABILITY_LAZY_SECTIONS.alerts.schema, port: z.number() });
    const result = validate(
      settings,
      { alerts: { interval: '5s', rules: [{ op: '>' }], bogus: 1 }, port: 'x' },
      'a.yaml',
    );
    assert.ok(!result.ok);
    const paths = result.issues.map((issue) => issue.path).sort();
    assert.ok(paths.includes('port'), paths.join());
    assert.ok(paths.includes('alerts'), `the unknown key, at the section: ${paths.join()}`);
    assert.ok(
      paths.some((path) => path.startsWith('alerts.rules[0].')),
      `a rule's field: ${paths.join()}`,
    );
    const unknown = result.issues.find((issue) => issue.path === 'alerts');
    assert.match(unknown?.got ?? '', /unknown key "bogus"/);
    assert.match(unknown?.hint ?? '', /allowed keys: defaults, interval, rules/);
  });
});
