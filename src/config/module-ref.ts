import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ConfigIssue } from './config-error.ts';
import { showValue } from './config-error.ts';
import type { ModuleRef } from './file-schema.ts';
import { importModule, TypeScriptLoaderMissingError } from './import-module.ts';

/** Where a module reference was written, for its error messages. */
export interface RefSite {
  file: string;
  path: string;
}

const SCRIPT_EXTENSIONS = /\.(ts|mts|cts|js|mjs|cjs)$/;

function loadHint(absolute: string, got: string): string | undefined {
  if (!SCRIPT_EXTENSIONS.test(absolute)) return 'to run a program write { command: "..." } instead';
  // tsx compiles a .ts file outside a "type": "module" package to CommonJS (see import-module.ts).
  if (/top-level await/i.test(got) && /\.ts$/.test(absolute)) {
    return 'put a package.json with "type": "module" beside it, or name it .mts';
  }
  return undefined;
}

/**
 * Imports `ref` relative to `dir` and returns the named export, which must
 * be a function. Each way this can fail (no file, the module throws while
 * loading, no such export, not a function) is an issue naming the path.
 */
export async function importFunction(
  ref: ModuleRef,
  dir: string,
  site: RefSite,
): Promise<{ fn: (...args: never[]) => unknown } | { issue: ConfigIssue }> {
  const absolute = resolve(dir, ref.module);
  const problem = (expected: string, got: string, hint?: string) => ({
    issue: { ...site, expected, got, ...(hint === undefined ? {} : { hint }) },
  });
  const isFile = await stat(absolute).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!isFile) return problem(`a module file at ${ref.module}`, `no such file (looked for ${absolute})`);
  let exports: Record<string, unknown>;
  try {
    exports = await importModule(absolute);
  } catch (error) {
    if (error instanceof TypeScriptLoaderMissingError) {
      return problem(`a module ${ref.module} that loads`, 'TypeScript that this Node cannot load', error.message);
    }
    const got = `${error instanceof Error ? `${error.name}: ${error.message.split('\n')[0]}` : String(error)}`;
    return problem(`a module ${ref.module} that loads`, got, loadHint(absolute, got));
  }
  const value = exports[ref.exportName];
  if (value === undefined) {
    const names = Object.keys(exports).filter((name) => typeof exports[name] === 'function');
    const hint = names.length ? `its function exports: ${names.join(', ')}` : 'it exports no functions';
    return problem(`an export named "${ref.exportName}" in ${ref.module}`, 'no such export', hint);
  }
  if (typeof value !== 'function') {
    return problem(`a function exported as "${ref.exportName}" from ${ref.module}`, showValue(value));
  }
  return { fn: value as (...args: never[]) => unknown };
}
