import { pathToFileURL } from 'node:url';
import { AutoloopError } from '../core/errors.ts';

/**
 * Loads a user's module named by a config (`act: ./loops/x.ts#act`, a config
 * module), JavaScript or TypeScript, wherever it is kept: with or without a
 * package.json near it.
 *
 * TypeScript goes one of two ways:
 * - the running Node strips types itself (`process.features.typescript`: on
 *   by default from 22.18 and 23.6, or `--experimental-strip-types` on
 *   22.6+): a plain `import()`, no loader;
 * - otherwise (Node 20, 22 before 22.18) tsx's hooks, registered the first
 *   time a `.ts` module is named, never at import. Both its ESM and CommonJS
 *   hooks: with the ESM ones alone, a `.ts` file outside any
 *   `"type": "module"` package fails with "Cannot require() ES Module ... in
 *   a cycle". tsx then compiles such a file to CommonJS, so its exports come
 *   back under `default` (unwrapped below) and a top-level `await` needs a
 *   `"type": "module"` package.json or the `.mts` extension.
 *
 * tsx is an optional peer dependency: when it is needed and missing, the
 * error says what to install.
 */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  if (TYPESCRIPT.test(file) && !nodeStripsTypes()) await registerTsx(file);
  const namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  return esModuleExports(namespace);
}

/** `.ts`, `.mts`, `.cts`. */
export const TYPESCRIPT = /\.[cm]?ts$/;

/** tsx is needed to load a TypeScript module and is not installed. */
export class TypeScriptLoaderMissingError extends AutoloopError {
  override name = 'TypeScriptLoaderMissingError';
}

function nodeStripsTypes(): boolean {
  return Boolean((process.features as { typescript?: unknown }).typescript);
}

// Process-wide on purpose: loader hooks are process-wide, so registering
// them twice would only chain a second copy of the same hooks.
let tsxRegistered: Promise<void> | undefined;

function registerTsx(file: string): Promise<void> {
  tsxRegistered ??= (async () => {
    let esm: typeof import('tsx/esm/api');
    let cjs: typeof import('tsx/cjs/api');
    try {
      [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
    } catch (error) {
      tsxRegistered = undefined;
      throw new TypeScriptLoaderMissingError(
        `${file} is TypeScript and Node ${process.version} cannot strip types; install tsx beside autoloop ` +
          '(npm install tsx), or run Node 22.18 or newer, or name a .js/.mjs module instead',
        { cause: error },
      );
    }
    cjs.register();
    esm.register();
  })();
  return tsxRegistered;
}

/**
 * A module compiled to CommonJS by tsx (or written as CommonJS with
 * `exports.__esModule`) arrives as `{ default: exports }`: hand back its
 * exports as an ES module's namespace would have them.
 */
function esModuleExports(namespace: Record<string, unknown>): Record<string, unknown> {
  const inner = namespace.default;
  const compiled =
    typeof inner === 'object' && inner !== null && (inner as { __esModule?: unknown }).__esModule === true;
  return compiled ? (inner as Record<string, unknown>) : namespace;
}
