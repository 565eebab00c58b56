// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings test the literal ${VAR} syntax of config files
import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Tick } from '../core/cycle-record.ts';
import { TerminalError, TimeoutError } from '../core/errors.ts';
import type { ItemContext, ResolvedLoop } from '../core/loop.ts';
import { systemClock } from '../time/system-clock.ts';
import { ConfigError } from './config-error.ts';
import { loadConfig, parseConfigText, type ResolvedConfig, validateConfigFile } from './load-config.ts';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/config');
const fixture = (name: string) => join(FIXTURES, name);
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

/** Resolves YAML text as `autoloop.yaml`, the name the messages below show. */
function parse(text: string, vars: Record<string, string> = {}): Promise<ResolvedConfig> {
  return parseConfigText(text, { file: 'autoloop.yaml', env: { ...env, ...vars } });
}

/** The message lines of the ConfigError `promise` rejects with. */
async function errorLines(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => assert.fail('expected a ConfigError'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
  assert.equal(error.name, 'ConfigError');
  assert.equal(error.issues.length, error.message.split('\n').length, 'one line per issue');
  return error.message.split('\n');
}

const loop = (body: string) => `loops:\n  demo:\n${body.replace(/^/gm, '    ')}\n`;
const ACT = 'act: { command: "true" }';

function find(config: ResolvedConfig, name: string): ResolvedLoop {
  const found = config.loops.find((l) => l.name === name);
  assert.ok(found, `loop ${name}`);
  return found;
}

function context(name: string, signal: AbortSignal): ItemContext {
  const tick: Tick = { id: `${name}@manual:1`, loop: name, trigger: 'manual', scheduledAt: systemClock.now() };
  return { loop: name, cycleId: `${name}#1`, tick, signal, clock: systemClock, attempt: 1 };
}

describe('loadConfig: every bad input names the file and the path', () => {
  it('an unknown key at the top level, with a guess and the allowed keys', async () => {
    const [line] = await errorLines(parse('lops: {}\nloops: {}\n'));
    assert.equal(
      line,
      'autoloop.yaml: (top level): unknown key "lops"; did you mean "loops"? allowed keys: store, http, leases, dependencies, shutdown, retention, log, alerts, webhooks, tracing, services, simulate, slo, backup, resources, loops',
    );
  });

  it('an unknown key in a loop', async () => {
    const lines = await errorLines(parse(loop(`trigger: { interval: 1m }\n${ACT}\npolices: { timeout: 5s }`)));
    assert.deepEqual(lines, [
      'autoloop.yaml: loops.demo: unknown key "polices"; did you mean "policies"? allowed keys: description, trigger, observe, plan, act, items, policies, publish',
    ]);
  });

  it('an unknown key deeper down', async () => {
    const [line] = await errorLines(
      parse(loop(`trigger: { interval: 1m }\n${ACT}\npolicies: { retry: { tries: 3 } }`)),
    );
    assert.match(line as string, /^autoloop\.yaml: loops\.demo\.policies\.retry: unknown key "tries"/);
  });

  it('a wrong type', async () => {
    const lines = await errorLines(parse(`http: { port: ten }\n${loop(`trigger: { interval: 1m }\n${ACT}`)}`));
    assert.deepEqual(lines, ['autoloop.yaml: http.port: expected number, got string "ten"']);
  });

  it("a bad cron expression, with croner's reason", async () => {
    const [line] = await errorLines(parse(loop(`trigger: { cron: "every minute" }\n${ACT}`)));
    assert.match(
      line as string,
      /^autoloop\.yaml: loops\.demo\.trigger\.cron: expected a cron expression like "\*\/1 \* \* \* \*", got "every minute"; .*five, six, or seven/,
    );
  });

  it('a bad time zone', async () => {
    const lines = await errorLines(parse(loop(`trigger: { cron: "0 * * * *", timezone: Mars/Olympus }\n${ACT}`)));
    assert.deepEqual(lines, [
      'autoloop.yaml: loops.demo.trigger.timezone: expected an IANA time zone like "UTC" or "Europe/Berlin", got "Mars/Olympus"',
    ]);
  });

  it('a bad duration', async () => {
    const lines = await errorLines(
      parse(`shutdown: { grace: 5 minutes }\n${loop(`trigger: { interval: 1m }\n${ACT}`)}`),
    );
    assert.deepEqual(lines, [
      'autoloop.yaml: shutdown.grace: expected a duration like "30s", "2m" or 1500 (ms), got "5 minutes"',
    ]);
  });

  it('two trigger kinds at once, and none', async () => {
    const text = `loops:\n  a:\n    trigger: { cron: "* * * * *", interval: 30s }\n    ${ACT}\n  b:\n    trigger: { overlap: skip }\n    ${ACT}\n`;
    assert.deepEqual(await errorLines(parse(text)), [
      'autoloop.yaml: loops.a.trigger: expected exactly one of cron, interval or manual, got cron and interval at once',
      'autoloop.yaml: loops.b.trigger: expected exactly one of cron, interval or manual, got none of them',
    ]);
  });

  it('a missing act', async () => {
    const lines = await errorLines(parse(loop('trigger: { manual: true }')));
    assert.deepEqual(lines, [
      'autoloop.yaml: loops.demo.act: expected a module reference like "./loops/demo.ts#act" or { command: "./bin/act", timeout: 1m }, got nothing',
    ]);
  });

  it('a command written where a module reference belongs', async () => {
    const [line] = await errorLines(parse(loop('trigger: { manual: true }\nact: python collect.py')));
    assert.match(
      line as string,
      /loops\.demo\.act: .*got "python collect\.py"; to run a command write act: \{ command:/,
    );
  });

  it('the wrong field inside a command step', async () => {
    const lines = await errorLines(parse(loop('trigger: { manual: true }\nact: { command: 5 }')));
    assert.deepEqual(lines, ['autoloop.yaml: loops.demo.act.command: expected string, got number 5']);
  });

  it('a missing environment variable, with its position', async () => {
    const lines = await errorLines(parse(loop(`trigger:\n  interval: \${EVERY}\n${ACT}`)));
    assert.deepEqual(lines, [
      'autoloop.yaml:4:17: loops.demo.trigger.interval: expected environment variable EVERY to be set, got no such variable; set it, or give a default: ${EVERY:-value}',
    ]);
  });

  it('a YAML syntax error, with line and column', async () => {
    const lines = await errorLines(loadConfig(fixture('syntax-error.yaml'), { env }));
    assert.equal(lines.length, 1);
    assert.match(
      lines[0] as string,
      /syntax-error\.yaml:3:26: expected valid YAML, got .*alias.*; a value starting with "\*" must be quoted/,
    );
  });

  it('a missing module, a missing export and an export that is not a function, all at once', async () => {
    const lines = await errorLines(validateConfigFile(fixture('missing-module.yaml'), env));
    assert.equal(lines.length, 3);
    assert.match(
      lines[0] as string,
      /missing-module\.yaml: loops\.demo\.observe: expected a module file at \.\/loops\/nope\.ts, got no such file/,
    );
    assert.match(
      lines[1] as string,
      /loops\.demo\.plan: expected a function exported as "notAFunction" from \.\/loops\/demo\.ts, got 5$/,
    );
    assert.match(
      lines[2] as string,
      /loops\.demo\.act: expected an export named "missing" in \.\/loops\/demo\.ts, got no such export; its function exports: act, default, observe, plan$/,
    );
  });

  it('duplicate static item keys, and items beside observe', async () => {
    const text = `loops:\n  a:\n    trigger: { manual: true }\n    items: [x, { key: y }, x]\n    ${ACT}\n  b:\n    trigger: { manual: true }\n    observe: ./loops/demo.ts#observe\n    items: [x]\n    ${ACT}\n`;
    assert.deepEqual(await errorLines(parse(text)), [
      'autoloop.yaml: loops.a.items[2]: expected unique item keys, got a second item with key "x"',
      'autoloop.yaml: loops.b.items: expected no items when observe is given, got ["x"]; items is the snapshot of a loop without observe; remove one of them',
    ]);
  });

  it('reports every issue of a file, not just the first', async () => {
    const text = `store: mysql://db\nhttp: { port: -1 }\nlog: { level: loud }\n${loop('trigger: { interval: soon }\nact: { command: "" }')}`;
    const lines = await errorLines(parse(text));
    assert.deepEqual(
      lines.map((l) => l.split(': ')[1]),
      ['store', 'http.port', 'log.level', 'loops.demo.trigger.interval', 'loops.demo.act.command'],
    );
  });

  it('a file that does not exist, or is of an unknown kind', async () => {
    assert.match(
      (await errorLines(loadConfig(fixture('nope.yaml'), { env })))[0] as string,
      /nope\.yaml: \(top level\): expected a readable config file, got no such file/,
    );
    assert.match(
      (await errorLines(loadConfig(fixture('x.toml'), { env })))[0] as string,
      /expected a \.yaml, \.yml, \.ts, \.js or \.mjs file/,
    );
  });

  it('a bad TS config names each loop by its name', async () => {
    const lines = await errorLines(loadConfig(fixture('bad-ts-config.ts'), { env }));
    assert.deepEqual(
      lines.map((l) => l.replace(/^.*bad-ts-config\.ts: /, '').replace(/; .*$/, '')),
      [
        'http.port: expected number, got string "eighty"',
        'loops.first.trigger.cron: expected a cron expression like "*/1 * * * *", got "every minute"',
        'loops.second.trigger.interval: expected a duration like "30s", "2m" or 1500 (ms) of at least 1 ms, got "5 minutes"',
        'loops.second.act: expected a function (item, ctx) => result, got nothing',
      ],
    );
  });
});

describe('loadConfig: resolved values', () => {
  it('normalises every duration to ms, fills defaults and resolves the sqlite path against the config dir', async () => {
    const config = await loadConfig(fixture('valid.yaml'), { env });
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.loops) && Object.isFrozen(config.http));
    assert.equal(config.file, fixture('valid.yaml'));
    assert.equal(config.dir, FIXTURES);
    assert.equal(config.store, `sqlite://${FIXTURES}/state/test.db`);
    assert.deepEqual(config.http, { host: '0.0.0.0', port: 9090, token: '', allowedHosts: [] });
    assert.deepEqual(config.shutdown, { graceMs: 45_000 });
    assert.equal(config.log.level, 'debug');
    const demo = find(config, 'demo');
    assert.deepEqual(demo.trigger, { kind: 'cron', expression: '*/10 * * * * *', timezone: 'Europe/Berlin' });
    assert.equal(demo.overlap, 'queue-one');
    assert.deepEqual(demo.policies, {
      timeoutMs: 90_000,
      retry: { attempts: 3, baseMs: 500, maxMs: 60_000 },
      concurrency: 4,
      lease: true,
      order: 'longest-first',
      uses: [],
      adaptive: null,
      backpressure: { after: 3, cooldownTicks: 2 },
    });
    const defaults = find(config, 'defaults');
    assert.deepEqual(defaults.trigger, { kind: 'interval', everyMs: 120_000 });
    assert.equal(defaults.overlap, 'skip');
    assert.deepEqual(defaults.policies, {
      timeoutMs: 30_000,
      retry: { attempts: 1, baseMs: 1_000, maxMs: 30_000 },
      concurrency: 10,
      lease: true,
      order: 'longest-first',
      uses: [],
      adaptive: null,
      backpressure: { after: 3, cooldownTicks: 2 },
    });
  });

  it('uses the default store, host, port, grace and level', async () => {
    const config = await parse(loop(`trigger: { interval: 1m }\n${ACT}`));
    assert.equal(config.store, `sqlite://${resolve('.autoloop/state.db')}`);
    assert.deepEqual(
      [config.http, config.shutdown, config.log.level],
      [{ host: '127.0.0.1', port: 8080, token: '', allowedHosts: [] }, { graceMs: 30_000 }, 'info'],
    );
  });

  it('applies overrides; a relative sqlite override is relative to the working directory', async () => {
    const overrides = { store: 'sqlite://other.db', host: '0.0.0.0', port: 0 };
    const config = await loadConfig(fixture('valid.yaml'), { env, overrides });
    assert.equal(config.store, `sqlite://${resolve('other.db')}`);
    assert.deepEqual(config.http, { host: '0.0.0.0', port: 0, token: '', allowedHosts: [] });
    assert.match(
      (await errorLines(loadConfig(fixture('valid.yaml'), { env, overrides: { port: 70000 } })))[0] as string,
      /^command line: port: expected a port number/,
    );
  });

  it('interpolates ${VAR} and ${VAR:-default}, typing whole substitutions where the schema wants a number', async () => {
    const text = `store: "redis://\${REDIS_HOST:-localhost}:6379/0"\nhttp:\n  host: \${HOST}\n  port: "\${PORT:-8080}"\n${loop(`description: "$\${NOT_A_VAR} on \${HOST}"\ntrigger: { interval: 1m }\n${ACT}`)}`;
    const config = await parse(text, { HOST: '10.0.0.1', PORT: '9000' });
    assert.equal(config.store, 'redis://localhost:6379/0');
    assert.deepEqual(config.http, { host: '10.0.0.1', port: 9000, token: '', allowedHosts: [] });
    assert.equal(find(config, 'demo').description, '${NOT_A_VAR} on 10.0.0.1');
  });

  it('a substituted value of the wrong type says where it came from', async () => {
    const lines = await errorLines(parse(`http:\n  port: \${PORT}\nloops: {}\n`, { PORT: 'eighty' }));
    assert.deepEqual(lines, [
      'autoloop.yaml: http.port: expected number, got string "eighty"; the value came from ${PORT}',
    ]);
  });

  it('imports module steps relative to the config file', async () => {
    const config = await loadConfig(fixture('valid.yaml'), { env });
    const demo = find(config, 'demo');
    const ctx = context('demo', new AbortController().signal);
    const snapshot = await demo.observe(ctx);
    assert.deepEqual(snapshot, ['demo-a', 'demo-b']);
    assert.deepEqual(await demo.plan(snapshot, ctx), [
      { key: 'demo-a', payload: { name: 'demo-a' } },
      { key: 'demo-b', payload: { name: 'demo-b' } },
    ]);
    const item = { key: 'demo-a', priority: 2, payload: { name: 'demo-a' }, idempotencyKey: 'k' };
    assert.equal(await demo.act(item, ctx), 'demo-a#1');
    assert.equal(await find(config, 'defaults').act(item, ctx), 'default:demo-a', 'no # means the default export');
  });

  it('a static items list is the snapshot of a loop without observe', async () => {
    const fixed = find(await loadConfig(fixture('valid.yaml'), { env }), 'fixed');
    const ctx = context('fixed', new AbortController().signal);
    assert.deepEqual(await fixed.plan(await fixed.observe(ctx), ctx), [
      { key: 'a', payload: 'a' },
      { key: 'b', priority: 'high', payload: { n: 1 }, idempotencyKey: undefined },
    ]);
  });

  it('static items may be any JSON values; the default plan keys them by position', async () => {
    const config = await parse(loop(`trigger: { manual: true }\nitems: [1500, 1500, { n: 1 }]\n${ACT}`));
    const demo = find(config, 'demo');
    const ctx = context('demo', new AbortController().signal);
    assert.deepEqual(await demo.plan(await demo.observe(ctx), ctx), [
      { key: '0', payload: 1500 },
      { key: '1', payload: 1500 },
      { key: '2', payload: { n: 1 } },
    ]);
  });

  it('a command act runs with the work item on stdin, in the config directory', async () => {
    const config = await loadConfig(fixture('command.yaml'), { env });
    const shell = find(config, 'shell');
    const ctx = context('shell', new AbortController().signal);
    assert.deepEqual(await shell.observe(ctx), ['x', 'y']);
    const item = { key: 'x', priority: 1, payload: { n: 1 }, idempotencyKey: 'shell:x:1' };
    assert.deepEqual(await shell.act(item, ctx), { item, cwd: FIXTURES, loop: 'shell' });
  });

  it('a command act exiting 3 fails terminally; one without its own timeout uses the loop timeout', async () => {
    const config = await loadConfig(fixture('command.yaml'), { env });
    const item = { key: 'k', priority: 2, payload: null, idempotencyKey: 'k' };
    const terminal = find(config, 'terminal').act(item, context('terminal', new AbortController().signal));
    await assert.rejects(
      Promise.resolve(terminal),
      (e) => e instanceof TerminalError && /unknown symbol/.test(e.message),
    );
    const slow = find(config, 'slow').act(item, context('slow', new AbortController().signal));
    await assert.rejects(
      Promise.resolve(slow),
      (e) => e instanceof TimeoutError && e.message === 'act k: timed out after 200 ms',
    );
  });

  it('a command act stops when the item signal aborts', async () => {
    const config = await loadConfig(fixture('command.yaml'), { env });
    const controller = new AbortController();
    const run = find(config, 'slow').act(
      { key: 'k', priority: 2, payload: null, idempotencyKey: 'k' },
      context('slow', controller.signal),
    );
    controller.abort(new Error('shutdown'));
    await assert.rejects(Promise.resolve(run), /shutdown/);
  });

  it('loads a TS config module', async () => {
    const config = await loadConfig(fixture('ts-config.ts'), { env });
    assert.equal(config.store, 'memory://');
    assert.deepEqual(config.http, { host: '127.0.0.1', port: 0, token: '', allowedHosts: [] });
    const typed = find(config, 'typed');
    assert.deepEqual(typed.trigger, { kind: 'interval', everyMs: 15_000 });
    assert.deepEqual(typed.policies, {
      timeoutMs: 5_000,
      retry: { attempts: 2, baseMs: 1_000, maxMs: 30_000 },
      concurrency: 10,
      lease: true,
      order: 'longest-first',
      uses: [],
      adaptive: null,
      backpressure: { after: 3, cooldownTicks: 2 },
    });
    const ctx = context('typed', new AbortController().signal);
    const items = await typed.plan(await typed.observe(ctx), ctx);
    assert.equal(await typed.act({ key: 'a', priority: 2, payload: items[0]?.payload, idempotencyKey: 'a' }, ctx), 'A');
  });
});
