/**
 * One process of bench (d4): a runtime with a `work` loop (SQLite store in
 * a temp dir), alone (`base`) or beside a decide loop over it and the
 * seed's coordination directory of 1,000 files (`decide`). Runs 10 cycles
 * of each loop, then prints `{ "rss": <bytes> }` after a full GC.
 *
 * node --expose-gc --import tsx bench/decide-rss.ts base|decide <coordination dir> <state dir>
 */
import { join } from 'node:path';
import { decide } from '../src/recipes/decide/recipe.ts';
import { recipeLoops } from '../src/recipes/recipe.ts';
import { createRuntime } from '../src/runtime/runtime.ts';

const [mode, coordination, dir] = process.argv.slice(2);
if ((mode !== 'base' && mode !== 'decide') || !coordination || !dir) {
  throw new Error('usage: decide-rss.ts base|decide <coordination dir> <state dir>');
}
const work = {
  name: 'work',
  trigger: { manual: true as const },
  plan: () => Array.from({ length: 20 }, (_, i) => ({ key: `k${i}` })),
  act: () => 'ok',
  policies: { concurrency: 4 },
};
const runtime = createRuntime({
  loops: [
    work,
    ...(mode === 'decide'
      ? recipeLoops(decide, 'autopilot', {
          targets: ['work'],
          sources: { coordination },
          verify: false,
          minInterval: 0,
        })
      : []),
  ],
  store: `sqlite://${join(dir, `${mode}.db`)}`,
  http: false,
});
await runtime.start({ schedule: false });
for (let i = 0; i < 10; i++) {
  await runtime.run('work');
  if (mode === 'decide') await runtime.run('autopilot');
}
(globalThis as { gc?: () => void }).gc?.();
const rss = process.memoryUsage().rss;
await runtime.stop({ graceMs: 1_000 });
process.stdout.write(`${JSON.stringify({ rss })}\n`);
