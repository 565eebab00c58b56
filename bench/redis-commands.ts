/**
 * Where the round trips go: the Redis commands each system sends per item,
 * counted with MONITOR (which slows the server, so this runs apart from the
 * timed runs). Each system runs twice, with a small and a large N, and the
 * figure is the difference divided by the difference in N: the per-item
 * cost, without the fixed cost of connecting, starting and closing.
 *
 * A command a client sends is counted once (a script call is one command,
 * named for its script); the commands a script runs inside Redis are counted
 * apart. Script names come from the sha1 of each script's source: autoloop's
 * (src/storage/redis/*-scripts.ts) and BullMQ's (its bundled scripts).
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { SCRIPTS } from '../src/storage/redis/redis-store.ts';
import { autoloopRun, bullmqRun } from './redis-throughput.ts';
import { fmt, line } from './report.ts';

/** Per item: commands sent by clients (by name) and commands run inside scripts. */
export interface CommandProfile {
  readonly sent: number;
  readonly sentByName: ReadonlyArray<[string, number]>;
  readonly insideScripts: number;
}

interface Counts {
  sent: Map<string, number>;
  insideScripts: number;
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

function scriptNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const [name, lua] of Object.entries(SCRIPTS)) names.set(sha1(lua), name);
  // BullMQ is CommonJS; its scripts index maps each script's name to its Lua source.
  const bullmq = createRequire(import.meta.url)('bullmq/dist/cjs/scripts/index.js') as Record<
    string,
    { name: string; content: string }
  >;
  for (const script of Object.values(bullmq)) names.set(sha1(script.content), script.name);
  return names;
}

/** Counts the commands the server receives while `run` runs (between two ECHO markers). */
async function monitored(url: string, names: Map<string, string>, run: () => Promise<void>): Promise<Counts> {
  const mark = `autoloop-bench-mark-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const counts: Counts = { sent: new Map(), insideScripts: 0 };
  // Failures reject the commands; without a listener ioredis would also print each one.
  const watcher = new Redis(url).on('error', () => {});
  const marker = new Redis(url).on('error', () => {});
  let monitor: Redis | undefined;
  let phase: 'before' | 'during' | 'after' = 'before';
  let ended!: () => void;
  const sawEnd = new Promise<void>((resolve) => {
    ended = resolve;
  });
  try {
    // MONITOR runs on a connection of its own (ioredis duplicates the client for it).
    monitor = await watcher.monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      const [command = '', first = ''] = args.map(String);
      const name = command.toLowerCase();
      if (name === 'echo' && first === `${mark}:start`) phase = 'during';
      else if (name === 'echo' && first === `${mark}:end`) {
        phase = 'after';
        ended();
      } else if (phase === 'during') {
        if (source === 'lua') counts.insideScripts++;
        else {
          const script = name === 'evalsha' ? names.get(first) : name === 'eval' ? names.get(sha1(first)) : undefined;
          const label = script ?? (name === 'evalsha' || name === 'eval' ? `${name} (unknown script)` : name);
          counts.sent.set(label, (counts.sent.get(label) ?? 0) + 1);
        }
      }
    });
    await marker.echo(`${mark}:start`);
    await run();
    await marker.echo(`${mark}:end`);
    await sawEnd;
    return counts;
  } finally {
    monitor?.disconnect();
    marker.disconnect();
    watcher.disconnect();
  }
}

/**
 * The per-item command profile of `run(n)`: counted at `small` and `large`
 * items, (large - small) / (large - small items).
 */
export async function commandsPerItem(
  url: string,
  run: (items: number) => Promise<void>,
  small: number,
  large: number,
): Promise<CommandProfile> {
  const names = scriptNames();
  const a = await monitored(url, names, () => run(small));
  const b = await monitored(url, names, () => run(large));
  const per = (x: number, y: number) => (y - x) / (large - small);
  const labels = new Set([...a.sent.keys(), ...b.sent.keys()]);
  const sentByName = [...labels]
    .map((label): [string, number] => [label, per(a.sent.get(label) ?? 0, b.sent.get(label) ?? 0)])
    .sort((x, y) => y[1] - x[1]);
  const total = (c: Counts) => [...c.sent.values()].reduce((s, n) => s + n, 0);
  return { sent: per(total(a), total(b)), sentByName, insideScripts: per(a.insideScripts, b.insideScripts) };
}

/** Profiles both systems at `concurrency` and prints the commands each sends per item, by name. */
export async function commandsSection(
  url: string,
  runId: string,
  { small, large, concurrency }: { small: number; large: number; concurrency: number },
): Promise<Record<string, number>> {
  line('');
  line(
    `Redis commands per item (MONITOR; the difference between runs of ${fmt(small)} and ${fmt(large)} items, concurrency ${concurrency})`,
  );
  let n = 0;
  const autoloop = (items: number) => autoloopRun(url, `${runId}:cmd-${n++}:`, items, concurrency).then(() => {});
  const bullmq = (items: number) => bullmqRun(url, `${runId}-cmd-${n++}`, items, concurrency).then(() => {});
  const a = await commandsPerItem(url, autoloop, small, large);
  const b = await commandsPerItem(url, bullmq, small, large);
  const show = (name: string, p: CommandProfile) => {
    const top = p.sentByName.filter(([, per]) => per >= 0.05).map(([label, per]) => `${label} ${fmt(per, 2)}`);
    line(`  ${name.padEnd(9)} ${fmt(p.sent, 2)} sent: ${top.join(', ')}`);
    line(`  ${''.padEnd(9)} ${fmt(p.insideScripts, 1)} commands run inside those scripts`);
  };
  show('autoloop', a);
  show('BullMQ', b);
  return {
    autoloopCommandsPerItem: a.sent,
    bullmqCommandsPerItem: b.sent,
    autoloopInScriptPerItem: a.insideScripts,
    bullmqInScriptPerItem: b.insideScripts,
  };
}
