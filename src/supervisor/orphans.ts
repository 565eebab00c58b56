import type { Logger } from '../core/logger.ts';
import type { EventMap } from '../observability/events.ts';
import type { Clock } from '../time/clock.ts';
import { groupAlive, stopGroup } from './process-group.ts';
import { processStartTicks } from './process-table.ts';
import type { InstanceRecord } from './service-record.ts';
import type { ServiceSpec } from './service-spec.ts';

/**
 * Stops the process groups a previous supervisor on this host recorded and
 * did not stop (it was SIGKILLed, or the machine's OOM killer took it),
 * before any service starts: no orphan keeps running, and no service runs
 * twice. Groups are stopped, not re-adopted: a new supervisor cannot
 * reattach to their stdout (log lines and log readiness would be lost) nor
 * learn their exit code, so a clean start is the safe choice.
 *
 * A group is ours when it still has a member and its leader is either gone
 * (a group id cannot be reused while the group exists) or is the very
 * process recorded (same start time). A leader pid that now names another
 * process with the same group id is left alone.
 */
export async function stopOrphans(
  records: readonly InstanceRecord[],
  options: {
    host: string;
    specs: ReadonlyMap<string, ServiceSpec>;
    clock: Clock;
    logger: Logger;
    emit: (data: EventMap['service.orphan_stopped']) => void;
  },
): Promise<number> {
  let stopped = 0;
  await Promise.all(
    records.map(async (record) => {
      const pgid = record.pgid;
      if (record.host !== options.host || pgid === null || record.supervisorPid === process.pid) return;
      if (!groupAlive(pgid)) return;
      const ticks = processStartTicks(pgid);
      if (ticks !== undefined && record.startTicks !== null && ticks !== record.startTicks) {
        options.logger.info({ service: record.service, pgid }, 'recorded pid now names another process; left alone');
        return;
      }
      const spec = options.specs.get(record.service);
      options.logger.warn(
        { service: record.service, instance: record.instance, pgid, supervisorPid: record.supervisorPid },
        'stopping a process group left by a supervisor that did not stop it',
      );
      const outcome = await stopGroup(pgid, {
        signal: spec?.stopSignal ?? 'SIGTERM',
        timeoutMs: spec?.killTimeoutMs ?? 10_000,
        clock: options.clock,
      });
      stopped += 1;
      options.emit({ service: record.service, instance: record.instance, pgid, killed: outcome.kind === 'killed' });
    }),
  );
  return stopped;
}
