import pino from 'pino';
import type { Logger } from '../core/logger.ts';
import type { Runtime } from '../runtime/runtime.ts';

/** JSON lines on stdout (journald and container runtimes collect them there). */
export function createCliLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** Logs the runtime's events a person running the daemon wants to see. */
export function logRuntimeEvents(runtime: Runtime, logger: Logger): void {
  const bus = runtime.bus;
  bus.on('cycle.started', (e) => logger.debug(e, 'cycle started'));
  bus.on('cycle.finished', (e) => {
    const fields = {
      loop: e.loop,
      cycleId: e.cycleId,
      tickId: e.tickId,
      outcome: e.outcome.kind,
      durationMs: e.durationMs,
      ...e.counts,
    };
    if (e.outcome.kind === 'failed') logger.warn({ ...fields, error: e.outcome.error }, 'cycle failed');
    else logger.info(fields, 'cycle finished');
  });
  bus.on('cycle.skipped', (e) => logger.info(e, 'cycle skipped'));
  bus.on('item.failed', (e) => logger.warn(e, 'item failed'));
  bus.on('item.retried', (e) => logger.info(e, 'item retried'));
}
