import type { Logger } from '../../src/core/logger.ts';

/** A Logger that keeps each line's level and message, for tests that assert what was logged. */
export function capturingLogger(): { logger: Logger; lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  const at =
    (level: string) =>
    (_fields: object, message = '') =>
      lines.push({ level, message });
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return { logger, lines };
}
