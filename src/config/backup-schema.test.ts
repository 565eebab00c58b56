import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from './config-error.ts';
import { parseConfigText } from './load-config.ts';

const parse = (text: string) => parseConfigText(text, { file: '/srv/app/autoloop.yaml', env: {} });

async function message(text: string): Promise<string> {
  const error = await parse(text).then(
    () => assert.fail('expected a ConfigError'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConfigError);
  return error.message;
}

describe('backup: config', () => {
  it('is off without the section, and with backup: false', async () => {
    assert.equal((await parse('loops: {}\n')).backup, null);
    assert.equal((await parse('loops: {}\nbackup: false\n')).backup, null);
  });

  it('fills the defaults (every hour, keep 7, .autoloop/backups beside the config), durations in ms', async () => {
    assert.deepEqual((await parse('loops: {}\nbackup: {}\n')).backup, {
      everyMs: 3_600_000,
      keep: 7,
      maxAgeMs: null,
      dir: '/srv/app/.autoloop/backups',
    });
    assert.deepEqual((await parse('loops: {}\nbackup: { every: 15m, keep: 30, maxAge: 7d, dir: /mnt/b }\n')).backup, {
      everyMs: 900_000,
      keep: 30,
      maxAgeMs: 7 * 86_400_000,
      dir: '/mnt/b',
    });
  });

  it('rejects bad values in the one message template', async () => {
    assert.match(await message('loops: {}\nbackup: { keep: 0 }\n'), /backup\.keep: expected .*got 0/);
    assert.match(await message('loops: {}\nbackup: { every: soon }\n'), /backup\.every: expected a duration/);
    assert.match(await message('loops: {}\nbackup: { evry: 1h }\n'), /backup: unknown key "evry"/);
  });

  it('needs a sqlite store, and says what to do instead', async () => {
    const text = await message('store: redis://127.0.0.1:6379/0\nloops: {}\nbackup: {}\n');
    assert.match(text, /backup: expected a sqlite store \(backups copy the SQLite file\), got a redis:\/\/ store/);
    assert.match(text, /RDB\/AOF/);
  });
});
