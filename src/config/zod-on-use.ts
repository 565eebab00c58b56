import { createRequire } from 'node:module';

/** zod's `z` namespace, as a type. */
export type Zod = typeof import('zod').z;

const require = createRequire(import.meta.url);
let loaded: Zod | undefined;

/**
 * zod, loaded the first time a schema is built rather than when a module
 * that builds schemas is imported: `import 'autoloop'` reaches the loop and
 * dependency checks of `defineLoop` and `createRuntime`, and evaluating zod
 * is the largest part of what an import would otherwise run (~3 MiB on Node
 * 20, ~6 MiB of memory outside the heap on Node 24). A synchronous `require`
 * of the ES module (Node 20.19+, 22.12+, 24: every line `engines` allows),
 * so the checks stay synchronous. In dist/ the build points it at the
 * bundled copy that every other compiled module imports (one module
 * instance: require and import share Node's module map). Run from source
 * (tsx, the tests), zod's own exports map gives `require` its CommonJS
 * build and `import` its ES build: two complete copies, whose schemas the
 * config modules nest in each other; dist/ never has that mix.
 */
export function zod(): Zod {
  loaded ??= (require('zod') as typeof import('zod')).z;
  return loaded;
}

/**
 * What `build` returns (schemas, which load zod), built at the first call
 * and the same object after: a module that defines schemas exports this
 * instead of building them when it is imported.
 */
export function builtOnUse<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => {
    built ??= build();
    return built;
  };
}
