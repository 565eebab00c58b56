/**
 * One process of a crash-to-rerun trial on Redis (bench/redis-recovery.ts):
 * an autoloop runtime or a BullMQ Worker, a victim (its act sleeps for
 * minutes) or a peer (its act returns at once).
 *
 *   node --import tsx bench/support/redis-crash-child.ts '<CrashChildSpec as JSON>'
 *
 * Prints one JSON line per fact on stdout, each with `t` = Date.now() (the
 * clock every process on the machine shares):
 *
 * - `ready`                      the runtime started / the Worker is connected and running
 * - `act.start` {key}            the act (autoloop) or processor (BullMQ) began for an item
 *
 * autoloop: a loop `crash` with a manual trigger whose observe returns one
 * item `k0`; the victim runs one cycle at start, the peer only runs its
 * recovery loop (every 1 s, the default), which adopts the item once the
 * victim's claim and lease expire. BullMQ: a Worker at its defaults on the
 * named queue; the parent adds the job once the victim is ready.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'bullmq';
import { defineLoop } from '../../src/config/define-loop.ts';
import { createRuntime } from '../../src/runtime/runtime.ts';
import { RedisStore } from '../../src/storage/redis/redis-store.ts';
import { bullmqConnection } from './redis-connection.ts';
import type { CrashChildSpec } from './redis-crash-children.ts';

const spec = JSON.parse(process.argv[2] ?? 'null') as CrashChildSpec | null;
if (!spec) throw new Error('usage: redis-crash-child.ts <CrashChildSpec JSON>');

/** The victim's act: long enough that only a crash ends it. */
const VICTIM_ACT_MS = 10 * 60_000;

function log(ev: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ ev, t: Date.now(), ...fields })}\n`);
}

async function runAutoloop(s: CrashChildSpec): Promise<void> {
  const store = await RedisStore.open(s.url, { prefix: s.namespace });
  const loop = defineLoop({
    name: 'crash',
    trigger: { manual: true },
    observe: () => ['k0'],
    act: async (item, { signal }) => {
      log('act.start', { key: item.key });
      if (s.role === 'victim') await sleep(VICTIM_ACT_MS, undefined, { signal });
      return null;
    },
    policies: { concurrency: 1, timeout: '20m' },
  });
  const runtime = createRuntime({ loops: [loop], store, ...(s.leaseTtlMs && { leaseTtlMs: s.leaseTtlMs }) });
  await runtime.start({ schedule: true });
  log('ready');
  process.on('SIGTERM', () => {
    void runtime
      .stop({ graceMs: 0 })
      .then(() => store.close())
      .finally(() => process.exit(0));
  });
  if (s.role === 'victim') await runtime.run('crash');
}

async function runBullmq(s: CrashChildSpec): Promise<void> {
  // Every option at BullMQ's default: lockDuration 30 s, stalledInterval 30 s, maxStalledCount 1.
  const worker = new Worker(
    s.namespace,
    async (job) => {
      log('act.start', { key: job.id });
      if (s.role === 'victim') await sleep(VICTIM_ACT_MS);
      return null;
    },
    { connection: bullmqConnection(s.url) },
  );
  worker.on('error', (error) => process.stderr.write(`bullmq worker: ${error.message}\n`));
  await worker.waitUntilReady();
  log('ready');
  process.on('SIGTERM', () => {
    void worker.close(true).finally(() => process.exit(0));
  });
}

(spec.system === 'autoloop' ? runAutoloop(spec) : runBullmq(spec)).catch((error: unknown) => {
  process.stderr.write(`redis-crash-child ${spec.system} ${spec.role}: ${(error as Error)?.stack ?? error}\n`);
  process.exit(1);
});
