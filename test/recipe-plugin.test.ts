/**
 * A recipe of the user's own, defined here and nowhere else: its loop runs,
 * its route answers under its path, its metric is scraped, its health
 * component counts, its dashboard panel is listed and served, and a YAML
 * config names it with errors placed under `loops.<name>.<field>`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Counter } from 'prom-client';
import { z } from 'zod';
import { ConfigError } from '../src/config/config-error.ts';
import { defineLoop } from '../src/config/define-loop.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { defineRecipe, recipeLoops } from '../src/recipes/recipe.ts';
import { runtimeOptionsFromConfig } from '../src/runtime/from-config.ts';
import { createRuntime } from '../src/runtime/runtime.ts';

declare module '../src/observability/events.ts' {
  interface EventMap {
    'greeting.sent': { loop: string; name: string };
  }
}

const greeter = defineRecipe({
  name: 'greeter',
  description: 'greets every name on the list',
  options: z.strictObject({
    names: z.array(z.string().min(1)).min(1),
    greeting: z.string().default('hello'),
  }),
  build: (options, site) => ({
    loops: [
      defineLoop({
        name: site.name,
        trigger: { manual: true },
        observe: () => options.names,
        plan: (names: string[]) => names.map((name) => ({ key: name, payload: name })),
        act: (item) => `${options.greeting} ${item.payload as string}`,
      }),
    ],
    notes: [`loop ${site.name}: greets ${options.names.length} names`],
  }),
  start: (ctx) => {
    const sent = new Counter({ name: 'greeter_greetings_total', help: 'Greetings sent.', registers: [ctx.registry] });
    const subscription = ctx.bus.on('item.succeeded', ({ loop, key }) => {
      if (!ctx.loops.includes(loop)) return;
      sent.inc();
      ctx.bus.emit('greeting.sent', { loop, name: key });
    });
    return {
      http: (app) => {
        app.get('/', async (c) => c.json({ loops: ctx.loops, greeted: (await sent.get()).values[0]?.value ?? 0 }));
      },
      health: { names: () => ({ healthy: true, detail: 'names listed' }) },
      panel: { title: 'Greetings', script: 'export function mount(section) { section.append("greetings here"); }' },
      status: () => ({ greeting: 'configured' }),
      api: { counter: sent },
      dispose: () => subscription.dispose(),
    };
  },
});

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('a recipe defined in a test, through the plug-in seams only', () => {
  it('runs its loop, and serves its route, metric, health component and panel', async () => {
    const runtime = createRuntime({
      recipes: [greeter],
      loops: recipeLoops(greeter, 'greet', { names: ['ada', 'alan'] }),
      http: { host: '127.0.0.1', port: 0 },
    });
    const greeted: string[] = [];
    runtime.bus.on('greeting.sent', ({ name }) => greeted.push(name));
    await runtime.start({ schedule: false });
    try {
      const record = await runtime.run('greet');
      assert.deepEqual(record.counts, { planned: 2, succeeded: 2, failed: 0, skipped: 0 });
      assert.deepEqual(greeted.sort(), ['ada', 'alan'], 'the typed event of the recipe');
      const items = await runtime.store.cycles.items(record.id);
      assert.deepEqual(items.map((i) => i.output).sort(), ['hello ada', 'hello alan']);

      const route = await fetch(`${runtime.url}/greeter`);
      assert.equal(route.status, 200);
      assert.deepEqual(await route.json(), { loops: ['greet'], greeted: 2 });

      const metrics = await (await fetch(`${runtime.url}/metrics`)).text();
      assert.match(metrics, /^greeter_greetings_total 2$/m);

      const health = (await (await fetch(`${runtime.url}/health`)).json()) as { components: Record<string, unknown> };
      assert.deepEqual(health.components['greeter.names'], { healthy: true, detail: 'names listed' });

      const status = (await (await fetch(`${runtime.url}/status`)).json()) as { recipes: Record<string, unknown> };
      assert.deepEqual(status.recipes.greeter, {
        loops: ['greet'],
        panel: { title: 'Greetings', script: '/greeter/panel.js' },
        status: { greeting: 'configured' },
      });
      const panel = await fetch(`${runtime.url}/greeter/panel.js`);
      assert.equal(panel.status, 200);
      assert.match(panel.headers.get('content-type') ?? '', /^text\/javascript/);
      assert.match(await panel.text(), /export function mount/);

      assert.ok(runtime.recipe<{ counter: Counter }>('greeter')?.counter, 'the recipe api for TypeScript callers');
      assert.equal(runtime.recipe('signals'), undefined, 'a recipe not running here offers nothing');
    } finally {
      await runtime.stop();
    }
    assert.equal(runtime.state, 'stopped');
  });

  it('a YAML config names it; bad options are errors under loops.<name>.<field>', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autoloop-recipe-'));
    dirs.push(dir);
    const file = join(dir, 'autoloop.yaml');
    writeFileSync(
      file,
      'store: memory://\nloops:\n  hi:\n    recipe: greeter\n    names: [grace]\n    greeting: hey\n',
    );
    const config = await loadConfig(file, { env: {}, recipes: [greeter] });
    assert.equal(config.loops[0]?.recipe, 'greeter');
    assert.deepEqual(config.notes, ['loop hi: greets 1 names']);
    const runtime = createRuntime(runtimeOptionsFromConfig(config, { http: false }));
    await runtime.start({ schedule: false });
    try {
      const record = await runtime.run('hi');
      const [item] = await runtime.store.cycles.items(record.id);
      assert.equal(item?.output, 'hey grace');
    } finally {
      await runtime.stop();
    }

    writeFileSync(file, 'store: memory://\nloops:\n  hi:\n    recipe: greeter\n    names: []\n    colour: red\n');
    const error = await loadConfig(file, { env: {}, recipes: [greeter] }).then(
      () => assert.fail('expected a ConfigError'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConfigError);
    const paths = error.issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ['loops.hi', 'loops.hi.names'].sort(), error.message);
    assert.match(error.message, /colour/);

    writeFileSync(file, 'store: memory://\nloops:\n  hi:\n    recipe: greeter\n    names: [x]\n');
    await assert.rejects(loadConfig(file, { env: {} }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /loops\.hi\.recipe: expected one of "signals"/);
      return true;
    });
  });

  it('a loop naming a recipe nobody registered fails start with the registered names', async () => {
    const [loop] = recipeLoops(greeter, 'greet', { names: ['x'] });
    const runtime = createRuntime({ loops: [loop as NonNullable<typeof loop>] });
    await assert.rejects(runtime.start(), /recipe "greeter", which is not registered; registered: signals/);
    assert.equal(runtime.state, 'stopped');
  });
});
