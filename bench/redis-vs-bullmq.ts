/**
 * autoloop on Redis beside BullMQ 6.7.0, in one run on the same
 * redis-server (its own, started here on a free loopback port without
 * persistence, or $REDIS_URL): items/s and end-to-end latency of no-op
 * items at concurrency 1, 10 and 100 (./redis-throughput.ts), latency at a
 * steady 200 items/s (./redis-paced.ts), the Redis commands each sends per
 * item (./redis-commands.ts), and crash-to-rerun after a SIGKILL
 * (./redis-recovery.ts). The baseline runs at its defaults; nothing in it is
 * tuned down. Both run compiled: BullMQ from its dist/cjs, autoloop from its
 * dist/ through `import('autoloop')` (rebuilt first when src/ changed,
 * ./support/redis-compiled-autoloop.ts). Every autoloop run has its own key prefix and every BullMQ
 * run its own queue, all named with this run's id, so runs never see each
 * other's keys; on $REDIS_URL those keys are deleted at the end.
 *
 *   npm run bench -- --only=redis          (or: node --import tsx bench/redis-vs-bullmq.ts)
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { startOwnRedis } from '../test/support/redis-server.ts';
import { commandsSection } from './redis-commands.ts';
import { pacedSection } from './redis-paced.ts';
import { recoverySection } from './redis-recovery.ts';
import { throughputSection } from './redis-throughput.ts';
import { fmt, heading, line } from './report.ts';

const THROUGHPUT = { items: 5_000, rounds: 5, warmup: 1_000 } as const;
const PACED = { perTick: 20, everyMs: 100, durationMs: 10_000, concurrency: 10 } as const;
const PROFILE = { small: 200, large: 1_200, concurrency: 10 } as const;
const RECOVERY_TRIALS = 5;

export async function benchRedisVsBullmq(): Promise<Record<string, number>> {
  const own = process.env.REDIS_URL ? undefined : await startOwnRedis();
  const url = process.env.REDIS_URL ?? (own?.url as string);
  const runId = `bench-${Date.now().toString(36)}`;
  const started = performance.now();
  try {
    heading(`Redis: autoloop beside BullMQ 6.7.0 on the same redis-server (${await serverVersion(url)})`);
    line(
      `${own ? 'own redis-server on 127.0.0.1 (no persistence)' : '$REDIS_URL'}; autoloop's RedisStore (compiled dist/) and BullMQ (dist/cjs) both on ioredis ${ioredisVersion()}; run id ${runId}`,
    );
    const figures = {
      ...(await throughputSection(url, runId, THROUGHPUT)),
      ...(await pacedSection(url, runId, PACED)),
      ...(await commandsSection(url, runId, PROFILE)),
      ...(await recoverySection(url, runId, RECOVERY_TRIALS)),
      sectionSeconds: (performance.now() - started) / 1000,
    };
    line(`(section took ${fmt(figures.sectionSeconds)} s)`);
    return figures;
  } finally {
    if (own) await own.stop();
    else await deleteKeys(url, runId);
  }
}

async function serverVersion(url: string): Promise<string> {
  const client = new Redis(url).on('error', () => {}); // failures reject the commands
  try {
    const info = await client.info('server');
    return `redis-server ${/redis_version:(\S+)/.exec(info)?.[1] ?? '(unknown version)'}`;
  } finally {
    client.disconnect();
  }
}

function ioredisVersion(): string {
  return (createRequire(import.meta.url)('ioredis/package.json') as { version: string }).version;
}

/** Deletes every key this run wrote on a shared $REDIS_URL server. */
async function deleteKeys(url: string, runId: string): Promise<void> {
  const client = new Redis(url).on('error', () => {}); // failures reject the commands
  try {
    const stream = client.scanStream({ match: `*${runId}*`, count: 1000 });
    for await (const keys of stream as AsyncIterable<string[]>) if (keys.length > 0) await client.unlink(...keys);
  } finally {
    client.disconnect();
  }
}

// `node --import tsx bench/redis-vs-bullmq.ts` runs it alone; bench/run.ts imports it.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await benchRedisVsBullmq();
