/**
 * What a start loads, seen from the module loader (a resolve hook registered
 * with --import that appends every resolved URL to a file): `--version`
 * loads nothing of the CLI, `status` only its own command, and
 * `import('autoloop')` none of the packages a feature loads on use. The
 * compiled dist/ (built by `npm test`'s pretest) loads zod, the YAML
 * parser, commander, hono, prom-client and pino as one bundled file each, and
 * works with them (a bad field named, a daemon answering health and metrics);
 * a daemon builds its HTTP app (hono and the route modules) only with the
 * first request the probe routes do not answer.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { autoloop, finished, spawnAutoloop, waitFor } from './support/cli.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ON_USE_PACKAGES = [
  'prom-client',
  'pino',
  'rotating-file-stream',
  'hono',
  '@hono/node-server',
  'openai',
  '@aws-sdk/client-s3',
  'ioredis',
  'better-sqlite3',
  '@opentelemetry/api',
  'trading-signals',
  'yaml',
];

describe('start-up: what each entry point loads', () => {
  let dir: string;
  let logFile: string;
  let register: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'autoloop-startup-'));
    logFile = join(dir, 'resolved.log');
    writeFileSync(
      join(dir, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(process.env.AUTOLOOP_TEST_RESOLVED, resolved.url + '\\n');
  return resolved;
}
`,
    );
    register = join(dir, 'register.mjs');
    writeFileSync(register, `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`);
    writeFileSync(join(dir, 'act.mjs'), 'export const act = () => 1;\n');
    writeFileSync(
      join(dir, 'autoloop.yaml'),
      'store: memory://\nloops:\n  one:\n    trigger: { manual: true }\n    items: [a]\n    act: ./act.mjs#act\n',
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const env = () => ({ NODE_OPTIONS: `--import ${pathToFileURL(register).href}`, AUTOLOOP_TEST_RESOLVED: logFile });
  const resolved = () => {
    const urls = readFileSync(logFile, 'utf8').split('\n').filter(Boolean);
    writeFileSync(logFile, '');
    return urls;
  };
  const packagesIn = (urls: string[]) =>
    ON_USE_PACKAGES.filter((name) => urls.some((url) => url.includes(`/node_modules/${name}/`)));

  it('--version prints the package version and loads no CLI module and no CLI parser', async () => {
    writeFileSync(logFile, '');
    const r = await autoloop(['--version'], { cwd: dir, env: env() });
    assert.equal(r.code, 0, r.stderr);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(r.stdout.trim(), pkg.version);
    const urls = resolved();
    assert.ok(urls.length > 0, 'the hook saw the bin start');
    assert.deepEqual(
      urls.filter((url) => url.includes('/cli/') || url.includes('/node_modules/commander/')),
      [],
    );
  });

  it('status with nothing running loads its own command only, and none of the on-use packages but the config parser', async () => {
    writeFileSync(logFile, '');
    const r = await autoloop(['status'], { cwd: dir, env: env() });
    assert.equal(r.code, 1, 'nothing runs');
    assert.match(r.stdout, /no instance running here/);
    const urls = resolved();
    const commands = urls.flatMap((url) => /\/cli\/commands\/([\w-]+)\./.exec(url)?.[1] ?? []);
    assert.deepEqual([...new Set(commands)], ['status']);
    assert.deepEqual(packagesIn(urls), ['yaml'], 'the YAML parser reads the config; nothing else loads');
  });

  it("import('autoloop') loads none of the packages a feature loads on use", async () => {
    writeFileSync(logFile, '');
    const index = pathToFileURL(join(ROOT, 'src', 'index.ts')).href;
    await run(process.execPath, ['--import', 'tsx', '-e', `await import(${JSON.stringify(index)})`], {
      cwd: ROOT,
      env: { ...process.env, ...env() },
    });
    const urls = resolved();
    assert.ok(
      urls.some((url) => url.endsWith('/src/index.ts')),
      'the hook saw the import',
    );
    assert.deepEqual(packagesIn(urls), []);
  });

  /** Whether a URL is the compiled bundle (dist/chunks/<name>-<hash>.js) that starts at the module named `name`. */
  const bundled = (url: string, name: string) => new RegExp(`/dist/chunks/${name}-[A-Z0-9]+\\.js$`).test(url);
  const VENDORED = /\/node_modules\/(zod|yaml|commander|hono|@hono\/node-server|prom-client|pino)\//;
  const vendorFiles = (urls: string[]) =>
    [
      ...new Set(
        urls
          .filter((url) => url.includes('/dist/vendor/') && !url.endsWith('/load-vendor.js'))
          .map((url) => url.replace(/.*\/dist\//, '')),
      ),
    ].sort();

  it('the compiled CLI loads zod, the YAML parser and commander from dist/vendor/, one file each, and still names a bad field', async () => {
    assert.ok(existsSync(join(ROOT, 'dist', 'vendor', 'zod.js')), 'dist/ is built (npm run build)');
    writeFileSync(logFile, '');
    const compiled = { ...env(), AUTOLOOP_FROM_SOURCE: '0' };
    const r = await autoloop(['status'], { cwd: dir, env: compiled });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /no instance running here/);
    const urls = resolved();
    assert.ok(
      urls.some((url) => bundled(url, 'status')),
      'the status command, from its bundle',
    );
    assert.ok(
      urls
        .filter((url) => url.startsWith(`${pathToFileURL(join(ROOT, 'dist')).href}/`) && !url.includes('/dist/vendor/'))
        .every((url) => /\/dist\/(cli\/main|chunks\/[\w-]+)\.js$/.test(url)),
      'the CLI entry and bundles only, not one file per module',
    );
    assert.deepEqual(
      urls.filter((url) => VENDORED.test(url)),
      [],
    );
    assert.deepEqual(vendorFiles(urls), ['vendor/commander.js', 'vendor/yaml.js', 'vendor/zod.js']);
    const zod = (await import(pathToFileURL(join(ROOT, 'dist', 'vendor', 'zod.js')).href)) as {
      config(): { jitless?: boolean };
    };
    assert.equal(zod.config().jitless, true, "autoloop's own zod compiles no parser per schema (validated once)");

    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'loops:\n  one:\n    trigger: { cron: "every minute" }\n    act: ./act.mjs#act\n');
    const invalid = await autoloop(['validate', '--config', bad], { cwd: dir, env: compiled });
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /loops\.one\.trigger\.cron: expected a cron expression/);
    writeFileSync(bad, 'loops:\n  one:\n    trigger: { cron: "* * * * *"\n    act: ./act.mjs#act\n');
    const unparsable = await autoloop(['validate', '--config', bad], { cwd: dir, env: compiled });
    assert.equal(unparsable.code, 2);
    assert.match(
      unparsable.stderr,
      /bad\.yaml:4:5: expected valid YAML/,
      'the bundled parser still gives line and column',
    );
  });

  it('the compiled daemon answers the probes without the HTTP adapter, and health, metrics and status through the bundles', async () => {
    writeFileSync(
      join(dir, 'daemon.yaml'),
      'store: memory://\nhttp: { host: 127.0.0.1, port: 0 }\nloops:\n  one:\n    trigger: { manual: true }\n    items: [a]\n    act: ./act.mjs#act\n',
    );
    writeFileSync(logFile, '');
    const child = spawnAutoloop(['start', '--foreground', '--config', 'daemon.yaml'], {
      cwd: dir,
      env: { ...env(), AUTOLOOP_FROM_SOURCE: '0' },
    });
    const done = finished(child, 30_000);
    try {
      let base = '';
      await waitFor(
        child,
        (out) => {
          base = /\bhealth (http:\/\/[^\s,]+)\/health\b/.exec(out.stderr)?.[1] ?? '';
          return base !== '';
        },
        20_000,
      );
      const ready = await fetch(`${base}/health/ready`);
      assert.equal(ready.status, 200);
      assert.equal((await fetch(`${base}/health/live`)).status, 200);
      const health = (await (await fetch(`${base}/health`)).json()) as { status: string };
      assert.equal(health.status, 'healthy');
      const atReady = resolved();
      assert.deepEqual(
        atReady.filter((url) => VENDORED.test(url)),
        [],
      );
      assert.deepEqual(
        vendorFiles(atReady),
        ['vendor/commander.js', 'vendor/pino.js', 'vendor/prom-client.js', 'vendor/yaml.js', 'vendor/zod.js'],
        'the probe routes are answered without the app, hono and the HTTP adapter (nor the fetch classes it loads)',
      );
      assert.deepEqual(
        atReady.filter((url) => bundled(url, 'routes')),
        [],
        'the app (the bundle of its routes) is not loaded before a request needs it',
      );
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /^# TYPE autoloop_\w+/m, 'autoloop metrics from the bundled prom-client');
      assert.match(metrics, /^process_cpu_user_seconds_total /m, 'its default metrics too');
      assert.equal((await fetch(`${base}/status`)).status, 200, 'the app answers the other routes');
    } finally {
      child.kill('SIGTERM');
    }
    const exit = await done;
    assert.equal(exit.code, 0, exit.stderr);
    const urls = resolved();
    assert.deepEqual(
      urls.filter((url) => VENDORED.test(url)),
      [],
    );
    assert.deepEqual(
      vendorFiles(urls),
      ['vendor/hono-node-server.js', 'vendor/hono.js'],
      'the app and its adapter, with the first request the app answers',
    );
    assert.ok(
      urls.some((url) => bundled(url, 'routes')),
      'the app was built for the requests it answered',
    );
  });
  it("the compiled import('autoloop') loads no bundled package; zod loads at the first loop checked, and names a bad field", async () => {
    writeFileSync(logFile, '');
    const script = `
const { defineLoop, ConfigError } = await import('autoloop');
process.stdout.write(defineLoop({ name: 'ok', trigger: { interval: '5s' }, act: () => 1 }).name + '\\n');
try {
  defineLoop({ name: 'bad', trigger: { interval: 'soon' }, act: () => 1 });
} catch (error) {
  process.stdout.write(String(error instanceof ConfigError) + ' ' + error.message + '\\n');
}`;
    const r = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: { ...process.env, ...env(), AUTOLOOP_FROM_SOURCE: '0' },
    });
    const urls = resolved();
    assert.ok(
      urls.some((url) => url.endsWith('/dist/index.js')),
      'the hook saw the compiled entry',
    );
    // zod is loaded by require on first use (config/zod-on-use.ts), which the import hook does not see.
    assert.deepEqual(vendorFiles(urls), []);
    assert.deepEqual(r.stdout.split('\n'), [
      'ok',
      'true defineLoop(bad): trigger.interval: expected a duration like "30s", "2m" or 1500 (ms) of at least 1 ms, got "soon"',
      '',
    ]);
    assert.equal(r.stderr, '', 'no warning about loading an ES module by require');
  });

  it('the compiled CLI on a Node without a compile cache keeps a code cache of the bundled packages, in a directory of its user alone', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'autoloop-startup-tmp-'));
    const cacheDir = join(tmp, `autoloop-code-cache-${process.getuid?.()}`);
    const status = async () => {
      const r = await autoloop(['status'], { cwd: dir, env: { TMPDIR: tmp, AUTOLOOP_FROM_SOURCE: '0' } });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /no instance running here/);
      return r.stdout;
    };
    const cacheFiles = () =>
      existsSync(cacheDir)
        ? readdirSync(cacheDir)
            .map((f) => `${f.split('-')[0]}:${statSync(join(cacheDir, f)).mtimeMs}`)
            .sort()
        : [];
    try {
      const first = await status();
      if ('enableCompileCache' in module) {
        assert.deepEqual(cacheFiles(), [], "Node's own compile cache is used instead");
        return;
      }
      const written = cacheFiles();
      assert.deepEqual(
        readdirSync(cacheDir).sort(),
        // Named by content (npm packs every file with the same mtime, and V8 checks only a cache's source
        // length) and by the file as it is (a bundle edited in place after the build is compiled afresh).
        ['commander', 'yaml', 'zod'].map((name) => {
          const file = join(ROOT, 'dist', 'vendor', `${name}.cjs`);
          const hash = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 32);
          const { mtimeMs, ino } = statSync(file);
          return `${name}-${process.version}-${hash}-${Math.trunc(mtimeMs)}-${ino}.bin`;
        }),
      );
      assert.equal(statSync(cacheDir).mode & 0o777, 0o700);
      assert.equal(await status(), first);
      assert.deepEqual(cacheFiles(), written, 'the second run used the cache (a refused one is written again)');
      // Writing a bundle's cache deletes that bundle's caches written a day before it (other installs,
      // versions, builds), not newer ones nor other bundles'.
      const zodCache = readdirSync(cacheDir).find((f) => f.startsWith('zod-')) as string;
      const planted = ['zod-v0-old.bin', 'zod-v0-new.bin', 'zod-v0-old.bin.123', 'yaml-v0-old.bin', 'zod-x-v0-old.bin'];
      for (const file of planted) writeFileSync(join(cacheDir, file), 'x');
      const twoDaysAgo = new Date(statSync(join(cacheDir, zodCache)).mtimeMs - 2 * 24 * 3600 * 1000);
      for (const file of ['zod-v0-old.bin', 'zod-v0-old.bin.123', 'yaml-v0-old.bin', 'zod-x-v0-old.bin']) {
        utimesSync(join(cacheDir, file), twoDaysAgo, twoDaysAgo);
      }
      rmSync(join(cacheDir, zodCache));
      assert.equal(await status(), first);
      assert.deepEqual(
        readdirSync(cacheDir)
          .filter((f) => f.includes('-v0-') || f === zodCache)
          .sort(),
        // A bundle whose name starts with another's (`hono`, `hono-node-server`) keeps its own.
        [zodCache, 'yaml-v0-old.bin', 'zod-v0-new.bin', 'zod-x-v0-old.bin'].sort(),
      );
      // A program that imports autoloop writes none.
      rmSync(cacheDir, { recursive: true });
      await run(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "const { defineLoop } = await import('autoloop'); defineLoop({ name: 'a', trigger: { manual: true }, act: () => 1 });",
        ],
        {
          cwd: ROOT,
          env: { ...process.env, TMPDIR: tmp, AUTOLOOP_FROM_SOURCE: '0' },
        },
      );
      assert.equal(existsSync(cacheDir), false);
      // A directory others can write is not used.
      mkdirSync(cacheDir);
      chmodSync(cacheDir, 0o777);
      assert.equal(await status(), first);
      assert.deepEqual(readdirSync(cacheDir), []);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('the compiled status and import load croner only for a cron trigger, and node:crypto only for an id', async () => {
    // At exit: whether node:crypto (a builtin) and croner (required on use, so no ESM hook sees it) were loaded.
    const probe = join(dir, 'loaded-probe.mjs');
    const out = join(dir, 'loaded.json');
    writeFileSync(
      probe,
      `import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const cache = createRequire(import.meta.url).cache;
process.on('exit', () => writeFileSync(${JSON.stringify(out)}, JSON.stringify({
  crypto: process.moduleLoadList.includes('NativeModule crypto'),
  croner: Object.keys(cache).some((file) => file.includes('/node_modules/croner/')),
})));
`,
    );
    const loaded = async (args: string[], cwd: string) => {
      rmSync(out, { force: true });
      await run(process.execPath, ['--import', pathToFileURL(probe).href, ...args], {
        cwd,
        env: { ...process.env, NODE_OPTIONS: '', AUTOLOOP_FROM_SOURCE: '0' },
      }).catch((error: { code?: number }) => assert.equal(error.code, 1, 'status exits 1 when nothing runs'));
      return JSON.parse(readFileSync(out, 'utf8')) as { crypto: boolean; croner: boolean };
    };
    const bin = join(ROOT, 'bin', 'autoloop.js');
    assert.deepEqual(await loaded([bin, 'status'], dir), { crypto: false, croner: false });
    assert.deepEqual(await loaded(['-e', "await import('autoloop')", '--input-type=module'], ROOT), {
      crypto: false,
      croner: false,
    });
    const cron = mkdtempSync(join(tmpdir(), 'autoloop-startup-cron-'));
    try {
      writeFileSync(join(cron, 'act.mjs'), 'export const act = () => 1;\n');
      writeFileSync(
        join(cron, 'autoloop.yaml'),
        'store: memory://\nloops:\n  one:\n    trigger: { cron: "*/5 * * * *" }\n    items: [a]\n    act: ./act.mjs#act\n',
      );
      assert.deepEqual(
        await loaded([bin, 'status'], cron),
        { crypto: false, croner: true },
        'a cron trigger is checked',
      );
    } finally {
      rmSync(cron, { recursive: true, force: true });
    }
  });
});
