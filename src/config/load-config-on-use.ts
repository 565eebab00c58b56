import type { LoadConfigOptions, ResolvedConfig } from './load-config.ts';

/**
 * {@link import('./load-config.ts').loadConfig}, as the package entry point
 * exports it: the loader, the YAML parser and the file schemas are imported
 * on the first call, so `import 'autoloop'` in a program that defines its
 * loops in TypeScript does not pay for them.
 *
 * Loads `file` (`.yaml`/`.yml`, or a `.ts`/`.js`/`.mjs` module whose default
 * export is `{ loops: LoopDefinition[], store?, http?, shutdown?, log? }`).
 * Throws a ConfigError listing every problem found.
 *
 * @example
 * const config = await loadConfig('autoloop.yaml', { env: process.env, overrides: { port: 0 } });
 */
export async function loadConfig(file: string, options: LoadConfigOptions): Promise<ResolvedConfig> {
  return (await import('./load-config.ts')).loadConfig(file, options);
}
