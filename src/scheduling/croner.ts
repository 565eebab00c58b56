import { createRequire } from 'node:module';
import type { Cron } from 'croner';

let loaded: typeof Cron | undefined;

/**
 * croner's `Cron` class, loaded the first time a cron expression is checked
 * or scheduled: a config without a cron trigger (and `import('autoloop')`)
 * never loads it. Synchronous (a zod check cannot wait), so through
 * croner's CommonJS build; the scheduler and the config check share it.
 */
export function cronClass(): typeof Cron {
  loaded ??= (createRequire(import.meta.url)('croner') as typeof import('croner')).Cron;
  return loaded;
}
