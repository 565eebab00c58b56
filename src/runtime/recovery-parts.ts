import type { LeaseManager } from '../leases/lease-manager.ts';
import { backgroundTask, type Runnable } from '../lifecycle/runnable.ts';
import { RecoveryLoop } from './recovery-loop.ts';
import { Retention } from './retention.ts';
import type { Runtime } from './runtime.ts';

/**
 * The parts that keep a scheduling instance known and its peers' work safe:
 * `presence` (its stop removes this instance's heartbeat, after the drain),
 * `recovery` (first heartbeat at start, then every interval: heartbeat,
 * lease sweep, orphan adoption) and `retention` (pruning, when set).
 */
export function recoveryParts(
  rt: Runtime,
  leases: () => LeaseManager,
  nothingToDo?: () => boolean,
): { presence: Runnable; recovery: Runnable; retention: Runnable | null } {
  const { bus, clock, logger, options, owner, storeGuard } = rt;
  const [host, pid] = owner.split(':');
  let loop: RecoveryLoop | null = null;
  const presence: Runnable = {
    name: 'presence',
    start: () => {},
    stop: () => rt.store.instances.remove(owner).catch(() => {}),
  };
  const recovery = backgroundTask('recovery', (signal) => (loop as RecoveryLoop).run(signal), {
    ready: async () => {
      loop = new RecoveryLoop({
        clock,
        leases: leases(),
        runners: () => rt.loops.runners(),
        instances: rt.store.instances,
        cycles: rt.store.cycles,
        onAbandoned: (record) =>
          bus.emit('cycle.finished', {
            loop: record.loop,
            cycleId: record.id,
            tickId: record.tickId,
            outcome: record.outcome,
            durationMs: (record.finishedAt ?? record.startedAt) - record.startedAt,
            counts: record.counts,
          }),
        instance: { id: owner, host: host ?? '', pid: Number(pid), startedAt: clock.now(), loops: rt.loopNames },
        ttlMs: options.leaseTtlMs ?? 10_000,
        intervalMs: options.recoveryIntervalMs ?? 1_000,
        logger,
        unavailable: () => storeGuard.unavailable(),
        ...(nothingToDo && { nothingToDo }),
        onFailure: (error) =>
          storeGuard.logFailure('recovery', error, {}, 'recovery tick failed (store error); retrying next tick'),
      });
      await loop.beat().catch((error) => logger.warn({ err: error }, 'first heartbeat failed'));
    },
  });
  const keepMs = options.retentionMs;
  const retention =
    keepMs === undefined
      ? null
      : backgroundTask('retention', (signal) =>
          new Retention({
            clock,
            store: () => rt.store,
            keepMs,
            logger,
            unavailable: () => storeGuard.unavailable(),
            onFailure: (error) =>
              storeGuard.logFailure('retention', error, {}, 'prune failed (store error); retrying in an hour'),
          }).run(signal),
        );
  return { presence, recovery, retention };
}
