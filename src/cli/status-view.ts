import type { ResolvedConfig } from '../config/load-config.ts';
import type { CycleRecord } from '../core/cycle-record.ts';
import { priorityName } from '../core/work-item.ts';
import type { RuntimeSnapshot } from '../runtime/runtime.ts';
import type { InstanceRecord, Store } from '../storage/store.ts';
import { outcomeText } from './output.ts';

/**
 * What `autoloop status` reports, in one shape whether it came from the
 * running daemon's `/status` (source `daemon`: live state such as paused,
 * in flight and breakers) or from the store (source `store`: what any
 * process can read; live-only fields are null).
 */
export interface StatusView {
  running: boolean;
  pid: number | null;
  url: string | null;
  startedAt: string | null;
  uptimeS: number | null;
  source: 'daemon' | 'store';
  /** Why the view is what it is, when that is not obvious (a stale pidfile, a daemon that did not answer). */
  note: string | null;
  store: string;
  instances: Array<Omit<InstanceRecord, 'startedAt' | 'lastBeatAt' | 'expiresAt'> & Record<TimeField, string>>;
  /** The instances of this config running on this machine (their runtime files), oldest first. */
  local: LocalInstance[];
  loops: LoopStatus[];
  breakers: Array<{ name: string; state: string }>;
  /** Leases held: by the daemon (daemon view) or by anyone (store view). */
  leases: number;
  queue: Array<{ loop: string; priority: string; count: number }>;
  /** What each recipe in use reports (its `status` part), by recipe name; read from the store in the store view. */
  recipes: Record<string, unknown>;
}

type TimeField = 'startedAt' | 'lastBeatAt' | 'expiresAt';

/** One runtime file under `.autoloop/instances/`, as `status` shows it (never its token). */
export interface LocalInstance {
  pid: number;
  instance: string | null;
  url: string | null;
  startedAt: string | null;
  /** Started by `autoloop start` (with a pidfile) rather than in the foreground. */
  background: boolean;
}

export interface LoopStatus {
  name: string;
  schedule: string;
  paused: boolean | null;
  running: boolean | null;
  inFlight: number | null;
  /** null: not known (a store read without the config). */
  concurrency: number | null;
  lastCycle: CycleSummary | null;
  lastSuccessAt: string | null;
  nextRunAt: string | null;
  queued: number;
}

export interface CycleSummary {
  id: string;
  tickId: string;
  trigger: string;
  outcome: string;
  kind: string;
  startedAt: string;
  durationMs: number | null;
  counts: CycleRecord['counts'];
}

/** The view from a daemon's `/status` body. */
export function daemonStatusView(snapshot: RuntimeSnapshot, url: string): StatusView {
  const queue = snapshot.queue.map((q) => ({ loop: q.loop, priority: priorityName(q.priority), count: q.count }));
  return {
    running: true,
    pid: snapshot.pid,
    url,
    startedAt: snapshot.startedAt,
    uptimeS: snapshot.uptimeS,
    source: 'daemon',
    note: null,
    local: [],
    store: snapshot.store,
    instances: snapshot.instances.map(instanceView),
    loops: snapshot.loops.map((l) => ({
      name: l.name,
      schedule: l.schedule,
      paused: l.paused,
      running: l.running,
      inFlight: l.inFlight,
      concurrency: l.concurrency,
      lastCycle: l.lastCycle ? cycleSummary(l.lastCycle) : null,
      lastSuccessAt: l.lastSuccessAt,
      nextRunAt: l.nextRunAt,
      queued: queue.filter((q) => q.loop === l.name).reduce((n, q) => n + q.count, 0),
    })),
    breakers: snapshot.dependencies.flatMap((d) => (d.breaker ? [{ name: d.name, state: d.breaker.state }] : [])),
    leases: snapshot.leases.active,
    queue,
    recipes: Object.fromEntries(
      Object.entries(snapshot.recipes ?? {}).map(([name, r]) => [name, (r as { status?: unknown }).status ?? null]),
    ),
  };
}

/** The view any process can read from the store (no daemon, or one that did not answer). */
export async function storeStatusView(
  config: ResolvedConfig,
  store: Store,
  now: number,
  daemon: { pid: number | null; note: string | null },
  storeOnly = false,
): Promise<StatusView> {
  const [{ createTrigger }, { redactStoreUrl }] = await Promise.all([
    import('../scheduling/trigger.ts'),
    import('../storage/open-store.ts'),
  ]);
  const instances = await store.instances.list(now);
  const leases = await store.leases.list(now);
  const depth = await store.queue.depth();
  const known = storeOnly ? storeLoops(instances, depth) : [];
  const loops = await Promise.all([
    ...config.loops.map(async (loop): Promise<LoopStatus> => {
      const { last, lastSuccessAt } = await store.cycles.summary(loop.name);
      const trigger = createTrigger(loop.trigger);
      const next = trigger.next(now);
      return {
        name: loop.name,
        schedule: trigger.description,
        paused: null,
        running: null,
        inFlight: null,
        concurrency: loop.policies.concurrency,
        lastCycle: last ? cycleSummary(last) : null,
        lastSuccessAt: lastSuccessAt === undefined ? null : iso(lastSuccessAt),
        nextRunAt: next === undefined ? null : iso(next),
        queued: queuedOf(depth, loop.name),
      };
    }),
    ...known.map(async (name): Promise<LoopStatus> => {
      const { last, lastSuccessAt } = await store.cycles.summary(name);
      return {
        name,
        schedule: '-',
        paused: null,
        running: null,
        inFlight: null,
        concurrency: null,
        lastCycle: last ? cycleSummary(last) : null,
        lastSuccessAt: lastSuccessAt === undefined ? null : iso(lastSuccessAt),
        nextRunAt: null,
        queued: queuedOf(depth, name),
      };
    }),
  ]);
  return {
    running: daemon.pid !== null,
    pid: daemon.pid,
    url: null,
    startedAt: null,
    uptimeS: null,
    source: 'store',
    note: daemon.note,
    local: [],
    store: redactStoreUrl(config.store),
    instances: instances.map(instanceView),
    loops,
    breakers: [],
    leases: leases.length,
    queue: depth.map((d) => ({ loop: d.loop, priority: priorityName(d.priority), count: d.count })),
    recipes: await recipesFromStore(config, store),
  };
}

/** Loops the store knows of without a config: those live instances run and those with queued items. */
function storeLoops(instances: InstanceRecord[], depth: Array<{ loop: string }>): string[] {
  const names = new Set([...instances.flatMap((i) => i.loops), ...depth.map((d) => d.loop)]);
  return [...names].sort();
}

function queuedOf(depth: Array<{ loop: string; count: number }>, loop: string): number {
  return depth.filter((d) => d.loop === loop).reduce((n, d) => n + d.count, 0);
}

/** Per recipe the config's loops use: its status as the store keeps it (the recipe's `cliStatus.read`). */
async function recipesFromStore(config: ResolvedConfig, store: Store): Promise<Record<string, unknown>> {
  const { recipeRegistry } = await import('../recipes/registry.ts');
  const out: Record<string, unknown> = {};
  for (const entry of recipeRegistry(config.recipes).entries()) {
    const loops = config.loops.filter((l) => l.recipe === entry.name).map((l) => l.name);
    if (loops.length > 0 && entry.cliStatus) out[entry.name] = await entry.cliStatus.read(store, loops);
  }
  return out;
}

function cycleSummary(record: CycleRecord): CycleSummary {
  return {
    id: record.id,
    tickId: record.tickId,
    trigger: record.trigger,
    outcome: outcomeText(record),
    kind: record.outcome.kind,
    startedAt: iso(record.startedAt),
    durationMs: record.finishedAt === null ? null : record.finishedAt - record.startedAt,
    counts: record.counts,
  };
}

function instanceView(i: InstanceRecord): StatusView['instances'][number] {
  return { ...i, startedAt: iso(i.startedAt), lastBeatAt: iso(i.lastBeatAt), expiresAt: iso(i.expiresAt) };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
