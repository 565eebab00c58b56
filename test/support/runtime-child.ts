/**
 * A real autoloop process for the guarantee tests (test/guarantees-*.test.ts).
 *
 *   node --import tsx test/support/runtime-child.ts '<ChildSpec as JSON>'
 *   (or the spec in $AUTOLOOP_CHILD_SPEC)
 *
 * Opens the shared store (`spec.store`, a URL for `openStore` such as
 * `redis://127.0.0.1:6379/2`, or else the SQLite file `spec.db`), runs one
 * loop in a runtime, and prints one JSON line per fact on stdout, each with
 * `t` (Date.now(), the clock every process on the machine shares) and `m`
 * (performance.now()):
 *
 * - `ready` {owner, store}                  the runtime started (store: its description)
 * - `bus` {type, data}                      every event on the runtime's bus
 * - `acquire` {key, token|null, tookOverFrom}, `renew` {key, token, ok},
 *   `release` {key, token, ok}             every lease call and its answer
 * - `extend` {keys, held}                   every claim heartbeat and the keys still held
 * - `adopt` {keys, cycleId}                 items taken over from the queue (claimStale)
 * - `complete` {key, status, token|null, ok} every result write and whether the store took it
 *   (each of these with `ms`: how long the store call took, logged when it answered)
 * - `store.error` {op, ms, error, ...}      a queue or lease call that rejected (then rethrown)
 * - `act.start` {key, cycleId, attempt}, `act.end` {key, aborted}
 * - `signal.aborted` {key, reason}          the moment an item's AbortSignal fired
 * - `probe` {key, token, ok}                with probeLateWrites: the stale holder's write, retried on purpose
 *   (until the store answers; `probe.error` {key, token, error} for each try it could not answer)
 * - `ran` {cycleId, outcome, counts} | {error} with runOnStart: the manual cycle ended (or threw)
 * - `stopped` {drained}                     after a graceful stop on SIGTERM (then exit 0);
 *   {drained: true, started: false} when SIGTERM came before the runtime existed
 *
 * The act sleeps `act.sleepMs` honouring its signal, and busy-waits (blocks
 * the event loop) `act.busyMs` on the first act of each key in this process.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ItemResult } from '../../src/core/cycle-record.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import type { Fence, LeaseStore, Store, WorkQueue } from '../../src/storage/store.ts';
import type { ChildSpec } from './guarantees-children.ts';

const spec = JSON.parse(process.argv[2] ?? process.env.AUTOLOOP_CHILD_SPEC ?? 'null') as ChildSpec | null;
if (!spec) throw new Error('usage: runtime-child.ts <spec JSON> (or $AUTOLOOP_CHILD_SPEC)');

function log(ev: string, fields: Record<string, unknown> = {}): void {
  const line = { ev, t: Date.now(), m: performance.now(), role: spec?.role, pid: process.pid, ...fields };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/**
 * What SIGTERM does. The process's one SIGTERM listener is installed before
 * anything loads (guarantees-children.ts starts every child with it) and
 * calls `globalThis.autoloopChildSigterm`; run by hand, without it, the
 * listener is installed here. Until the runtime exists nothing runs, so the
 * child stops at once, as a graceful stop would (exit 0); then a graceful
 * stop. One listener for the whole life of the process: removing a signal
 * listener and adding another can drop a signal that arrived in between.
 */
const slot = globalThis as { autoloopChildSigterm?: () => void };
function onSigterm(handler: () => void): void {
  if (slot.autoloopChildSigterm === undefined) process.on('SIGTERM', () => slot.autoloopChildSigterm?.());
  slot.autoloopChildSigterm = handler;
}
onSigterm(() => {
  log('stopped', { drained: true, started: false });
  process.exit(0);
});

/** Queue id -> item key, from every row this process enqueued or adopted. */
const keyOfId = new Map<string, string>();
const idOfKey = new Map<string, string>();
let runtime: Runtime | undefined;

function remember(rows: ReadonlyArray<{ id: string; key: string }>): void {
  for (const row of rows) {
    keyOfId.set(row.id, row.key);
    idOfKey.set(row.key, row.id);
  }
}

/**
 * `target` with the members in `overrides` replaced; every other member is
 * read from `target` (methods bound to it, so class-private state works).
 * Members a backend or a later version of the port adds pass through as is.
 */
function overlay<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(obj, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof T];
      const value: unknown = Reflect.get(obj, prop, obj);
      return typeof value === 'function' ? value.bind(obj) : value;
    },
  });
}

/**
 * Runs one store call and measures it: resolves with its value and how long
 * it took (ms, rounded). A rejection is logged as `store.error` and rethrown.
 */
async function timed<T>(op: string, context: Record<string, unknown>, call: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  try {
    const value = await call();
    return [value, Math.round(performance.now() - started)];
  } catch (error) {
    log('store.error', { op, ...context, ms: Math.round(performance.now() - started), error: String(error) });
    throw error;
  }
}

/** The shared store (any backend), with every queue and lease call logged with its answer. */
function observedStore(store: Store): Store {
  const q = store.queue;
  const named = (ids: readonly string[]) => ids.map((id) => keyOfId.get(id) ?? id);
  const queue: Partial<WorkQueue> = {
    enqueue: async (...args) => {
      const [rows] = await timed('enqueue', {}, () => q.enqueue(...args));
      remember(rows);
      return rows;
    },
    claimStale: async (...args) => {
      const [rows, ms] = await timed('claimStale', {}, () => q.claimStale(...args));
      remember(rows);
      if (rows.length > 0) log('adopt', { keys: rows.map((r) => r.key), cycleId: args[1], ms });
      return rows;
    },
    complete: async (id, owner, result, fence, options) => {
      const token = fence?.token ?? null;
      const write = () => q.complete(id, owner, result, fence, options);
      const [ok, ms] = await timed('complete', { key: result.key, token }, write);
      log('complete', { key: result.key, status: result.status, token, ok, ms });
      return ok;
    },
    extend: async (ids, owner, until) => {
      const [held, ms] = await timed('extend', { keys: named(ids) }, () => q.extend(ids, owner, until));
      log('extend', { keys: named(ids), held: named(held), ms });
      return held;
    },
  };
  const l = store.leases;
  const leases: Partial<LeaseStore> = {
    acquire: async (key, owner, ttlMs, now) => {
      const [lease, ms] = await timed('acquire', { key }, () => l.acquire(key, owner, ttlMs, now));
      log('acquire', { key, token: lease?.token ?? null, tookOverFrom: lease?.tookOverFrom ?? null, ms });
      return lease;
    },
    renew: async (key, owner, token, ttlMs, now) => {
      const [expiresAt, ms] = await timed('renew', { key, token }, () => l.renew(key, owner, token, ttlMs, now));
      log('renew', { key, token, ok: expiresAt !== undefined, ms });
      return expiresAt;
    },
    release: async (key, owner, token) => {
      const [ok, ms] = await timed('release', { key, token }, () => l.release(key, owner, token));
      log('release', { key, token, ok, ms });
      return ok;
    },
  };
  return overlay(store, { queue: overlay(q, queue), leases: overlay(l, leases) });
}

async function openSpecStore(s: ChildSpec): Promise<Store> {
  if (s.store !== undefined) return (await import('../../src/storage/open-store.ts')).openStore(s.store);
  if (s.db !== undefined) return (await import('../../src/storage/sqlite/sqlite-store.ts')).SqliteStore.open(s.db);
  throw new Error(`runtime-child ${s.role}: expected "store" (a store URL) or "db" (a SQLite file path), got neither`);
}

/**
 * The write a stale holder would make: complete the item under the lost
 * lease's fence. Retried every 200 ms while the store cannot be reached (a
 * flapping link), so that the line logged says what the store answered:
 * `probe` {ok}; or, when it never answered within 60 s, `probe` {ok: false, error}.
 */
async function probe(store: Store, id: string, owner: string, result: ItemResult, fence: Fence): Promise<void> {
  const giveUpAt = performance.now() + 60_000;
  for (;;) {
    try {
      const ok = await store.queue.complete(id, owner, result, fence);
      log('probe', { key: result.key, token: fence.token, ok });
      return;
    } catch (error) {
      if (performance.now() > giveUpAt) {
        log('probe', { key: result.key, token: fence.token, ok: false, error: String(error) });
        return;
      }
      log('probe.error', { key: result.key, token: fence.token, error: String(error) });
      await sleep(200);
    }
  }
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Blocks the event loop on purpose: no timer, no I/O runs meanwhile.
  }
}

async function main(s: ChildSpec): Promise<void> {
  const [{ defineLoop }, { createRuntime }] = await Promise.all([
    import('../../src/config/define-loop.ts'),
    import('../../src/runtime/runtime.ts'),
  ]);
  const raw = await openSpecStore(s);
  const store = observedStore(raw);
  const busyDone = new Set<string>();
  const loop = defineLoop({
    name: s.loop.name,
    trigger: s.loop.trigger,
    observe: () => Array.from({ length: s.loop.items }, (_, i) => `k${i}`),
    act: async (item, ctx) => {
      const { signal } = ctx;
      log('act.start', { key: item.key, cycleId: ctx.cycleId, attempt: ctx.attempt, tickId: ctx.tick.id });
      signal.addEventListener(
        'abort',
        () => {
          const reason = signal.reason as { name?: string; message?: string } | undefined;
          log('signal.aborted', { key: item.key, reason: `${reason?.name}: ${reason?.message}` });
        },
        { once: true },
      );
      if (s.act?.busyMs && !busyDone.has(item.key)) {
        busyDone.add(item.key);
        busyWait(s.act.busyMs);
        // Let the overdue timers (lease renewal, claim heartbeat) run, as they would after any stall.
        await sleep(20, undefined, { signal }).catch(() => {});
      }
      if (s.act?.sleepMs) await sleep(s.act.sleepMs, undefined, { signal }).catch(() => {});
      log('act.end', { key: item.key, aborted: signal.aborted });
      if (signal.aborted) throw signal.reason;
      return { by: s.role, pid: process.pid };
    },
    policies: {
      concurrency: s.loop.concurrency ?? 10,
      timeout: s.loop.timeout ?? '2m',
    },
  });
  const rt = createRuntime({
    loops: [loop],
    store,
    leaseTtlMs: s.leaseTtlMs,
    recoveryIntervalMs: s.recoveryIntervalMs,
    shutdownGraceMs: s.shutdownGraceMs ?? 5_000,
  });
  runtime = rt;
  rt.bus.onAny((event) => log('bus', { type: event.type, at: event.at, data: event.data }));
  if (s.probeLateWrites) {
    rt.bus.on('lease.lost', ({ key, token }) => {
      const itemKey = key.slice(s.loop.name.length + 1);
      const id = idOfKey.get(itemKey);
      if (id === undefined) return;
      const now = Date.now();
      const result = {
        cycleId: 'late-write-probe',
        loop: s.loop.name,
        key: itemKey,
        idempotencyKey: `probe:${itemKey}`,
        priority: 0,
        status: 'succeeded' as const,
        attempts: 1,
        startedAt: now,
        finishedAt: now,
        durationMs: 0,
        output: { by: s.role, probe: true },
      };
      void probe(raw, id, rt.owner, result, { key, token });
    });
  }
  let stopping = false;
  onSigterm(() => {
    if (stopping) return;
    stopping = true;
    rt.stop({ reason: 'SIGTERM' })
      .then(async ({ drained }) => {
        await raw.close();
        log('stopped', { drained });
        process.exit(0);
      })
      .catch((error: unknown) => {
        process.stderr.write(`stop failed: ${error instanceof Error ? error.stack : String(error)}\n`);
        process.exit(1);
      });
  });
  await rt.start({ schedule: s.schedule ?? true });
  log('ready', { owner: rt.owner, store: raw.description });
  if (s.runOnStart) {
    // A cycle that throws (its store failed under it) is a fact to report, not a reason to exit.
    await rt.run(s.loop.name).then(
      (record) => log('ran', { cycleId: record.id, outcome: record.outcome, counts: record.counts }),
      (error: unknown) =>
        log('ran', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
    );
  }
}

main(spec).catch((error: unknown) => {
  process.stderr.write(`runtime-child ${spec.role}: ${error instanceof Error ? error.stack : String(error)}\n`);
  void runtime?.stop({ graceMs: 0 });
  process.exit(1);
});
