/** Log levels a config's `log.level` and `AUTOLOOP_LOG_LEVEL` accept (pino's). Apart from logging.ts so the config schema names them without loading pino. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
