/**
 * autoloop as a user gets it: `npm pack`, the tarball installed into a fresh
 * project outside this checkout (offline, from the npm cache; without the
 * optional dependencies, so no native build), then
 * (a) plain `node` runs an .mjs that imports autoloop, defines a loop and
 *     runs one cycle;
 * (b) `tsc --noEmit` (module nodenext, strict, library types checked too)
 *     compiles a consumer .ts using defineLoop, createRuntime and
 *     autoloop/testing;
 * (c) the installed `autoloop` bin answers --version, validates a config,
 *     and names the package to install when a config needs a missing one.
 *
 * Packs the dist/ that `npm test` builds first (pretest); run
 * `npm run build` before running this file alone.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(dirname(fileURLToPath(import.meta.resolve('typescript/package.json'))), 'bin', 'tsc');
const TYPES_NODE = `@types/node@${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).devDependencies['@types/node']}`;
const NPM_TIMEOUT_MS = 240_000;

let dir: string;
let project: string;
let tarball: string;

/** `npm ...` in `cwd`; resolves with its output, rejects with it on a non-zero exit. */
async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run('npm', args, {
    cwd,
    timeout: NPM_TIMEOUT_MS,
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  return stdout;
}

/** Runs `file` with plain node (no tsx) in the project; never rejects. */
async function node(args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, args, {
    cwd: project,
    timeout: 60_000,
    env: { ...process.env, NO_COLOR: '1', ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      code: typeof error.code === 'number' ? error.code : -1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
}

function write(files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(project, name)), { recursive: true });
    writeFileSync(join(project, name), text);
  }
}

before(
  async () => {
    assert.ok(existsSync(join(ROOT, 'dist/index.js')), 'no dist/: run `npm run build` (npm test does) first');
    dir = mkdtempSync(join(tmpdir(), 'autoloop-consumer-'));
    // --ignore-scripts: pack the dist/ built before the tests; `prepare` would rebuild it under running tests.
    const packed = JSON.parse(await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT)) as {
      filename: string;
    }[];
    tarball = join(dir, (packed[0] as { filename: string }).filename);
    project = join(dir, 'project');
    write({ 'package.json': JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2) });
    const install = ['install', '--no-audit', '--no-fund', '--omit=optional', tarball, TYPES_NODE];
    // Every dependency is in the npm cache on CI machines; fall back to the registry only for what is not.
    await npm([...install, '--offline'], project).catch(() => npm([...install, '--prefer-offline'], project));
  },
  { timeout: NPM_TIMEOUT_MS * 2 + 30_000 },
);

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed package, installed as a dependency', { concurrency: true }, () => {
  it('ships dist/ and the bin, not src/ or the tests', () => {
    const installed = join(project, 'node_modules', 'autoloop');
    for (const file of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/testing/index.js',
      'dist/cli/main.js',
      'bin/autoloop.js',
    ]) {
      assert.ok(existsSync(join(installed, file)), file);
    }
    for (const file of ['src', 'test', 'bench', '.ci', 'dist/index.js.map']) {
      assert.ok(!existsSync(join(installed, file)), `${file} is not shipped`);
    }
    // Loaded on use only, so not installed with --omit=optional: better-sqlite3 (optional), ioredis, openai, the S3 client, tsx (optional peers).
    for (const name of ['better-sqlite3', 'ioredis', 'openai', 'trading-signals', 'tsx', '@aws-sdk/client-s3']) {
      assert.ok(!existsSync(join(project, 'node_modules', name)), `${name} is not installed`);
    }
  });

  it('(a) plain node imports autoloop, defines a loop and runs one cycle', async () => {
    write({
      'cycle.mjs': `import { createRuntime, defineLoop } from 'autoloop';
const hello = defineLoop({
  name: 'hello',
  trigger: { manual: true },
  observe: () => ['ada', 'grace'],
  act: async (item) => \`hello \${item.key}\`,
});
const runtime = createRuntime({ loops: [hello], store: 'memory://' });
await runtime.start();
const record = await runtime.run('hello');
await runtime.stop();
console.log(JSON.stringify({ outcome: record.outcome.kind, counts: record.counts }));
`,
    });
    const r = await node(['cycle.mjs']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    assert.equal(result.outcome, 'ok', r.stdout);
  });

  it("a recipe's options as the user's own zod schema (the compiled package carries its own copy of zod)", async () => {
    write({
      'recipe.mjs': `import { createRuntime, defineLoop, defineRecipe, recipeLoops } from 'autoloop';
import { z } from 'zod';
const greeter = defineRecipe({
  name: 'greeter',
  options: z.strictObject({ names: z.array(z.string()).min(1) }),
  build: (o, site) => ({
    loops: [defineLoop({ name: site.name, trigger: { manual: true }, observe: () => o.names,
      plan: (names) => names.map((n) => ({ key: n, payload: n })), act: (item) => 'hello ' + item.payload })],
  }),
});
const runtime = createRuntime({ recipes: [greeter], loops: recipeLoops(greeter, 'greet', { names: ['ada'] }), store: 'memory://' });
await runtime.start();
const record = await runtime.run('greet');
await runtime.stop();
console.log('ran: ' + record.outcome.kind + ' ' + record.counts.succeeded);
try {
  recipeLoops(greeter, 'greet', { names: [] });
  console.log('accepted an empty list');
} catch (e) {
  console.log('refused: ' + e.message);
}
`,
    });
    const r = await node(['recipe.mjs']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ran: ok 1/, r.stdout);
    assert.match(r.stdout, /refused: .*names/, r.stdout);
  });

  it('(b) tsc --noEmit, module nodenext and strict, compiles a consumer of autoloop and autoloop/testing', async () => {
    write({
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          types: ['node'],
        },
        include: ['consumer.ts'],
      }),
      'consumer.ts': `import { createRuntime, defineLoop, type CycleRecord } from 'autoloop';
import { createLoopHarness, VirtualClock } from 'autoloop/testing';

const prices = defineLoop({
  name: 'prices',
  trigger: { interval: '10s' },
  observe: async () => ['BTC/USD', 'ETH/USD'],
  act: async (item, { signal }) => ({ symbol: item.key, aborted: signal.aborted }),
  policies: { timeout: '5s', retry: { attempts: 3, backoff: '500ms' }, concurrency: 2 },
});

export async function once(): Promise<CycleRecord> {
  const runtime = createRuntime({ loops: [prices], store: 'memory://' });
  await runtime.start({ schedule: false });
  try {
    return await runtime.run('prices');
  } finally {
    await runtime.stop();
  }
}

export async function tenSeconds(): Promise<number> {
  const harness = await createLoopHarness([prices], { clock: new VirtualClock({ now: 0 }) });
  await harness.advance(10_000);
  const cycles = await harness.cycles('prices');
  await harness.stop();
  return cycles.length;
}
`,
    });
    const r = await node([TSC, '-p', 'tsconfig.json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });

  describe('(c) the installed bin', { concurrency: true }, () => {
    const bin = () => join(project, 'node_modules', '.bin', 'autoloop');

    it('answers --version', async () => {
      const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;
      const r = await node([bin(), '--version']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), version);
    });

    it('validates and runs a config whose act is an .mjs module', async () => {
      write({
        'mjs/autoloop.yaml':
          'store: memory://\nloops:\n  hello:\n    trigger: { manual: true }\n    items: [a, b]\n    act: ./act.mjs#act\n',
        'mjs/act.mjs': 'export async function act(item) { return "hello " + item.key; }\n',
      });
      const valid = await node([bin(), 'validate', 'mjs/autoloop.yaml']);
      assert.equal(valid.code, 0, valid.stderr);
      assert.match(valid.stdout, /valid, 1 loop\(s\)/);
      const ran = await node([bin(), 'run', 'hello', '--config', 'mjs/autoloop.yaml']);
      assert.equal(ran.code, 0, ran.stderr + ran.stdout);
      assert.match(ran.stdout, /2 planned, 2 ok, 0 failed/);
    });

    it('a config that needs an optional package not installed: the error names it', async () => {
      write({
        'sqlite/autoloop.yaml':
          'store: sqlite://./state.db\nloops:\n  hello:\n    trigger: { manual: true }\n    items: [a]\n    act: ./act.mjs#act\n',
        'sqlite/act.mjs': 'export const act = () => 1;\n',
      });
      const ran = await node([bin(), 'run', 'hello', '--config', 'sqlite/autoloop.yaml']);
      assert.notEqual(ran.code, 0);
      assert.match(
        ran.stderr,
        /sqlite:\/\/ stores: the package better-sqlite3 is not installed; .*npm install better-sqlite3@/,
      );
    });

    it('a TypeScript act: loads where Node strips types, else the error says to install tsx', async () => {
      write({
        'ts/autoloop.yaml':
          'store: memory://\nloops:\n  hello:\n    trigger: { manual: true }\n    items: [a]\n    act: ./act.ts#act\n',
        'ts/act.ts': 'export async function act(item: { key: string }): Promise<string> { return item.key; }\n',
      });
      const r = await node([bin(), 'validate', 'ts/autoloop.yaml']);
      if ((process.features as { typescript?: unknown }).typescript) {
        assert.equal(r.code, 0, r.stderr);
      } else {
        assert.equal(r.code, 2, r.stdout);
        assert.match(r.stderr, /loops\.hello\.act: .*install tsx beside autoloop \(npm install tsx\)/);
      }
    });
  });
});
