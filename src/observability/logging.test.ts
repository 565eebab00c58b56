import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { VirtualClock } from '../time/virtual-clock.ts';
import { createLogger, type LogFileOptions, redactSecrets, resolveLogLevel } from './logging.ts';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempFile(options: Partial<LogFileOptions> = {}): LogFileOptions {
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-log-'));
  dirs.push(dir);
  return { path: join(dir, 'logs', 'autoloop.log'), size: '10M', interval: '1d', keep: 7, compress: false, ...options };
}

function sink() {
  const lines: string[] = [];
  return { lines, write: (line: string) => lines.push(line) };
}

const readLines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('createLogger', () => {
  it('writes JSON lines to the log file (creating its directory) and to the console, timed by the clock', async () => {
    const file = tempFile();
    const out = sink();
    const clock = new VirtualClock({ now: Date.UTC(2026, 4, 1, 12) });
    const logger = createLogger({ level: 'info', file, stdout: out, clock });
    logger.debug({ n: 0 }, 'hidden');
    logger.info({ loop: 'prices' }, 'cycle finished');
    await logger.close();
    const [line] = readLines(file.path);
    assert.equal(line?.msg, 'cycle finished');
    assert.equal(line?.loop, 'prices');
    assert.equal(line?.level, 30);
    assert.equal(line?.time, '2026-05-01T12:00:00.000Z');
    assert.equal(line?.pid, process.pid);
    assert.equal(readLines(file.path).length, 1, 'below the level is dropped');
    assert.equal(out.lines.length, 1);
    assert.equal((JSON.parse(out.lines[0] as string) as { msg: string }).msg, 'cycle finished');
  });

  it('takes its level from the config, overridden by AUTOLOOP_LOG_LEVEL; rejects a bad one by name', () => {
    assert.equal(resolveLogLevel('info', {}), 'info');
    assert.equal(resolveLogLevel('info', { AUTOLOOP_LOG_LEVEL: 'DEBUG' }), 'debug');
    assert.equal(resolveLogLevel('warn', { AUTOLOOP_LOG_LEVEL: '' }), 'warn');
    assert.throws(() => resolveLogLevel('info', { AUTOLOOP_LOG_LEVEL: 'verbose' }), {
      message: 'AUTOLOOP_LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, silent, got "verbose"',
    });
    const out = sink();
    const logger = createLogger({ level: 'info', env: { AUTOLOOP_LOG_LEVEL: 'debug' }, stdout: out });
    logger.debug({}, 'shown');
    assert.equal(logger.level, 'debug');
    assert.equal(out.lines.length, 1);
  });

  it('redacts tokens, authorization headers, passwords in URLs and secret query parameters', async () => {
    const file = tempFile();
    const out = sink();
    const logger = createLogger({ level: 'info', file, stdout: out });
    logger.info(
      {
        token: 'tok-1',
        authorization: 'Bearer tok-2',
        http: { token: 'tok-3' },
        headers: { authorization: 'Bearer tok-4', accept: 'json' },
        store: 'redis://app:tok-5@cache:6379/0',
        nested: { url: 'postgres://u:tok-6@db/x?sslmode=require&password=tok-7' },
      },
      'connecting to rediss://:tok-8@cache:6380',
    );
    logger.error({ err: new Error('connect failed: redis://app:tok-9@cache') }, 'store error');
    await logger.close();
    const text = readFileSync(file.path, 'utf8') + out.lines.join('');
    for (let n = 1; n <= 9; n++) assert.ok(!text.includes(`tok-${n}`), `tok-${n} is redacted`);
    const [first, second] = readLines(file.path);
    assert.equal(first?.token, '[redacted]');
    assert.deepEqual(first?.headers, { authorization: '[redacted]', accept: 'json' });
    assert.equal(first?.store, 'redis://app:***@cache:6379/0');
    assert.equal(first?.msg, 'connecting to rediss://:***@cache:6380');
    assert.equal((second?.err as { message: string } | undefined)?.message, 'connect failed: redis://app:***@cache');
  });

  it('rotates by size and keeps `keep` rotated files', async () => {
    const file = tempFile({ size: '1K', keep: 2 });
    const logger = createLogger({ level: 'info', file, console: false });
    const filler = 'x'.repeat(200);
    for (let i = 0; i < 40; i++) {
      logger.info({ i, filler }, 'line');
      // Let the rotation that a full file triggers run before the next write.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await logger.close();
    const dir = join(file.path, '..');
    const names = readdirSync(dir).sort();
    assert.deepEqual(names, ['autoloop.log', 'autoloop.log.1', 'autoloop.log.2']);
    const all = [...readLines(`${file.path}.2`), ...readLines(`${file.path}.1`), ...readLines(file.path)];
    const seen = all.map((line) => line.i as number);
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => a - b),
      'rotated files hold older lines, in order',
    );
    assert.equal(seen.at(-1), 39);
  });

  it('compresses rotated files when asked', async () => {
    const file = tempFile({ size: '1K', keep: 3, compress: true });
    const logger = createLogger({ level: 'info', file, console: false });
    for (let i = 0; i < 12; i++) {
      logger.info({ i, filler: 'y'.repeat(200) }, 'line');
      await new Promise((resolve) => setImmediate(resolve));
    }
    await logger.close();
    assert.ok(readdirSync(join(file.path, '..')).includes('autoloop.log.1.gz'));
  });

  it('pretty-prints on the console, without colours under NO_COLOR, while the file stays JSON', async () => {
    const file = tempFile();
    const plain = sink();
    const logger = createLogger({ level: 'info', file, pretty: true, stdout: plain, env: { NO_COLOR: '1' } });
    logger.warn({ loop: 'prices' }, 'cycle failed');
    await logger.close();
    const line = plain.lines.join('');
    assert.match(line, /WARN.*cycle failed/);
    assert.match(line, /loop: "prices"/);
    assert.ok(!line.includes('\u001b['), 'no ANSI escapes');
    assert.equal(readLines(file.path)[0]?.msg, 'cycle failed');

    const coloured = sink();
    createLogger({ level: 'info', pretty: true, stdout: coloured, env: {} }).info({}, 'hello');
    assert.ok(coloured.lines.join('').includes('\u001b['), 'colours by default');
  });
});

describe('redactSecrets', () => {
  it('leaves text without credentials alone', () => {
    for (const text of [
      'sqlite:///var/lib/state.db',
      'redis://cache:6379/0',
      'memory://',
      'a=b',
      'https://x.io/?q=1',
    ]) {
      assert.equal(redactSecrets(text), text);
    }
    assert.equal(redactSecrets('https://h/?api_key=abc&x=1'), 'https://h/?api_key=***&x=1');
  });
});
