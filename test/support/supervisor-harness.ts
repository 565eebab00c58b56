import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Registry } from 'prom-client';
import { RunnableGroup } from '../../src/lifecycle/runnable-group.ts';
import { type AnyEvent, EventBus } from '../../src/observability/events.ts';
import { MemoryStore } from '../../src/storage/memory/memory-store.ts';
import { groupAlive, signalGroup } from '../../src/supervisor/process-group.ts';
import type { ServiceSpec } from '../../src/supervisor/service-spec.ts';
import { Supervisor, type SupervisorOptions } from '../../src/supervisor/supervisor.ts';
import { systemClock } from '../../src/time/system-clock.ts';

/** An event as a test sees it: its type, data, and the wall time it was emitted. */
export type SeenEvent = AnyEvent & { wallMs: number };

/**
 * A supervisor on a memory store and a bus of its own, started as the
 * runtime would (its runnables in a group). `close()` stops it and then
 * SIGKILLs every process group any of its services ever had, so a failed
 * test leaves nothing running.
 */
export async function startSupervisor(
  services: readonly ServiceSpec[],
  options: Omit<SupervisorOptions, 'services'> = {},
  registry: Registry | null = null,
): Promise<{
  supervisor: Supervisor;
  events: SeenEvent[];
  store: MemoryStore;
  waitFor(what: string, ok: (events: SeenEvent[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}> {
  const store = new MemoryStore();
  const bus = new EventBus({ now: () => Date.now() });
  const events: SeenEvent[] = [];
  const pgids = new Set<number>();
  bus.onAny((event) => {
    events.push({ ...event, wallMs: Date.now() } as SeenEvent);
    if (event.type === 'service.started') pgids.add(event.data.pid);
  });
  const supervisor = new Supervisor({ services, ...options });
  const group = new RunnableGroup({ clock: systemClock });
  for (const runnable of supervisor.runnables({ store: () => store, bus, registry: () => registry }))
    group.add(runnable);
  await group.start();
  return {
    supervisor,
    events,
    store,
    waitFor: (what, ok, timeoutMs = 20_000) => waitUntil(what, () => ok(events), timeoutMs),
    async close() {
      await group.stop(5_000);
      for (const pgid of pgids) if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL');
    },
  };
}

export async function waitUntil(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The events of one type, in order. */
export function ofType<K extends AnyEvent['type']>(events: readonly SeenEvent[], type: K) {
  return events.filter((e): e is Extract<SeenEvent, { type: K }> => e.type === type);
}

/** A free loopback TCP port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Process groups whose members carry `NAME=value` in their environment (Linux /proc). */
export function groupsWithEnv(name: string, value: string): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (!environ.includes(`${name}=${value}`)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state[0] === 'Z') continue;
      const pgid = Number(state[2]);
      groups.set(pgid, [...(groups.get(pgid) ?? []), Number(entry)]);
    } catch {
      // gone, or not ours to read
    }
  }
  return groups;
}
