import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../test/support/guarantees-children.ts';

/** What the Redis benches use of the package: its public entry's own names. */
export type CompiledAutoloop = Pick<typeof import('../../src/index.ts'), 'createRuntime' | 'defineLoop' | 'openStore'>;

let loaded: Promise<CompiledAutoloop> | undefined;

/**
 * autoloop as a user runs it, for the Redis benches: the package's compiled
 * entry, `import('autoloop')` (dist/ through its own exports map), as BullMQ
 * runs from its compiled dist/cjs. Source through tsx measured the loader's
 * transform too: esbuild's keepNames adds a `__name` call per closure, about
 * 15% of the engine's CPU per item (docs/benchmarks.md). dist/ is rebuilt
 * first when a file of src/ changed since the last build
 * (`scripts/build.mjs --if-stale`), so the figures are of the checkout's code.
 *
 * @example
 * const { createRuntime, defineLoop, openStore } = await compiledAutoloop();
 */
export function compiledAutoloop(): Promise<CompiledAutoloop> {
  loaded ??= (async () => {
    execFileSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'build.mjs'), '--if-stale'], { stdio: 'inherit' });
    // A computed name: the typecheck reads src/, and needs no dist/.
    const entry: string = 'autoloop';
    return (await import(entry)) as CompiledAutoloop;
  })();
  return loaded;
}

/** A redis:// URL with the store's key prefix in its query, as `openStore` takes it. */
export function withPrefix(url: string, prefix: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}prefix=${encodeURIComponent(prefix)}`;
}
