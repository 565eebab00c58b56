import { AutoloopError } from './errors.ts';

/**
 * A feature the config asks for needs a package that is not installed.
 * autoloop's optional parts (the SQLite and Redis stores, tracing, the
 * signals recipe's LLM client and indicators) are optional dependencies,
 * loaded only when used; this is the error when one is missing.
 *
 * `sqlite:// stores: the package better-sqlite3 is not installed; install it beside autoloop: npm install better-sqlite3@12.11.1`
 */
export class MissingPackageError extends AutoloopError {
  override name = 'MissingPackageError';
  constructor(
    readonly feature: string,
    readonly packages: readonly string[],
    options?: { cause?: unknown },
  ) {
    const names = packages.map(packageName);
    const list = names.length === 1 ? `the package ${names[0]}` : `the packages ${names.join(', ')}`;
    super(
      `${feature}: ${list} ${names.length === 1 ? 'is' : 'are'} not installed; ` +
        `install ${names.length === 1 ? 'it' : 'them'} beside autoloop: npm install ${packages.join(' ')}`,
      options,
    );
  }
}

/**
 * Runs `load` (a dynamic import of the module that uses `packages`) and
 * turns "cannot find package X" for one of them into a MissingPackageError
 * naming the feature and what to install. Any other failure passes through.
 *
 * @example
 * const { SqliteStore } = await loadOptional('sqlite:// stores', ['better-sqlite3@12.11.1'], () => import('./sqlite/sqlite-store.ts'));
 */
export async function loadOptional<T>(
  feature: string,
  packages: readonly string[],
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (missingOneOf(error, packages)) throw new MissingPackageError(feature, packages, { cause: error });
    throw error;
  }
}

function missingOneOf(error: unknown, packages: readonly string[]): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false;
  const message = error instanceof Error ? error.message : '';
  return packages.some((spec) => {
    const name = packageName(spec);
    return message.includes(`'${name}'`) || message.includes(`'${name}/`) || message.includes(`/${name}/`);
  });
}

/** `better-sqlite3@12.11.1` -> `better-sqlite3`; `@scope/name@1.0.0` -> `@scope/name`. */
function packageName(spec: string): string {
  return spec.replace(/(?<=.)@[^@/]+$/, '');
}
