import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { signalsPanel } from './signals-panel.ts';

// Static checks of the files the browser runs, as test/dashboard.test.ts makes of the page's own;
// test/signals-http.test.ts runs the panel in Chromium.
describe('signalsPanel', () => {
  const panel = signalsPanel();

  it('is titled Signals and read once (the same sources on every call)', () => {
    assert.equal(panel.title, 'Signals');
    assert.equal(signalsPanel().script, panel.script);
    assert.match(panel.script, /^export async function mount\(section, helpers\)/m);
  });

  it('the module parses (node --check)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoloop-signals-panel-'));
    try {
      const file = join(dir, 'panel.mjs');
      writeFileSync(file, panel.script);
      const { stderr } = await promisify(execFile)(process.execPath, ['--check', file]);
      assert.equal(stderr, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes data only as text and needs nothing the page CSP forbids', () => {
    for (const sink of [/\.innerHTML\b/, /\.outerHTML\b/, /insertAdjacentHTML/, /document\.write/, /\beval\(/]) {
      assert.doesNotMatch(panel.script, sink, `panel.js must not use ${sink}`);
    }
    assert.doesNotMatch(panel.script, /setAttribute\(\s*['"]style['"]|\.style\./, 'inline style from script');
    assert.doesNotMatch(panel.script, /https?:\/\//, 'a request to another origin');
    assert.doesNotMatch(panel.style ?? '', /url\(|@import/, 'a resource the stylesheet would fetch');
  });
});
