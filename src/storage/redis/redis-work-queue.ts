import type { QueuedItem, WorkQueue } from '../store.ts';
import type { EpochFloor } from './fencing-epoch.ts';
import type { RunRedis } from './redis-store.ts';

/**
 * The durable work queue on Redis, for `RedisStore`: one Lua script per
 * operation (./record-scripts.ts). `complete` with a fence checks the token
 * against the key's latest and the store's epoch (./fencing-epoch.ts), so a
 * holder that lost its lease, also to a Redis restart, cannot write.
 *
 * @example
 * const done = await store.queue.complete(item.id, owner, result, lease.fence);
 */
export function redisWorkQueue(run: RunRedis, floor: EpochFloor): WorkQueue {
  const rows = async (op: string, loop: string | undefined) => {
    const reply = (await run(op, (io) => io.script('queueRows', loop === undefined ? 1 : 0, loop ?? ''))) as string[][];
    return reply.map(fromQueueRow).sort(queueOrder);
  };
  return {
    enqueue: async (loop, cycleId, items, claim, now) => {
      // The items travel as one JSON argument: a script call with four arguments per item overflows the
      // call stack past ~15,000 items.
      const rows = items.map((item) => [
        item.key,
        String(item.priority),
        JSON.stringify(item.payload),
        item.idempotencyKey,
      ]);
      const args = [loop, cycleId, now, claim ? 1 : 0, claim?.owner ?? '', claim?.until ?? '', JSON.stringify(rows)];
      const ids = (await run('queue.enqueue', (io) => io.script('queueEnqueue', ...args))) as string[];
      const added: QueuedItem[] = [];
      items.forEach((item, i) => {
        const id = ids[i];
        if (!id) return;
        const { key, priority, idempotencyKey } = item;
        // A copy, as stored: parsed from the text sent (undefined is stored as null).
        const payload = JSON.parse(rows[i]?.[2] ?? 'null');
        const copy = claim && { owner: claim.owner, until: claim.until };
        added.push({ id, loop, cycleId, key, priority, payload, idempotencyKey, enqueuedAt: now, claim: copy });
      });
      return added;
    },
    claimStale: async (loop, cycleId, claim, now, limit) => {
      const args = [loop, cycleId, claim.owner, claim.until, now, Math.floor(limit)];
      const reply = (await run('queue.claimStale', (io) => io.script('queueClaimStale', ...args))) as string[][];
      return take(reply.map(fromQueueRow), undefined);
    },
    complete: async (id, owner, result, fence, options) => {
      const entry = `${result.finishedAt} ${JSON.stringify(result)}`;
      const fenced = fence ? [1, fence.key, fence.token] : [0, '', 0];
      const release = options?.releaseLease ? 1 : 0;
      const args = [id, owner, ...fenced, floor.value, result.cycleId, result.finishedAt, entry, release];
      const [done, epoch] = (await run('queue.complete', (io) => io.batched('queueComplete', ...args))) as [
        number,
        string,
      ];
      floor.see(epoch);
      return done === 1;
    },
    extend: async (ids, owner, until) =>
      (await run('queue.extend', (io) => io.script('queueExtend', owner, until, ...ids))) as string[],
    release: async (ids, owner) =>
      (await run('queue.release', (io) => io.script('queueRelease', owner, ...ids))) as number,
    depth: async (loop) => {
      const counts = new Map<string, { loop: string; priority: number; count: number }>();
      for (const item of await rows('queue.depth', loop)) {
        const id = JSON.stringify([item.loop, item.priority]);
        const row = counts.get(id) ?? { loop: item.loop, priority: item.priority, count: 0 };
        row.count++;
        counts.set(id, row);
      }
      return [...counts.values()].sort((a, b) => compareText(a.loop, b.loop) || a.priority - b.priority);
    },
    list: async (loop, options) => take(await rows('queue.list', loop), options?.limit),
  };
}

interface QueueRow extends QueuedItem {
  readonly seq: number;
}

function fromQueueRow(flat: string[]): QueueRow {
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  const id = h.id ?? '';
  return {
    id,
    seq: Number(id),
    loop: h.loop ?? '',
    cycleId: h.cycleId ?? '',
    key: h.key ?? '',
    priority: Number(h.priority),
    payload: JSON.parse(h.payload ?? 'null'),
    idempotencyKey: h.idem ?? '',
    enqueuedAt: Number(h.enqueuedAt),
    claim: h.claimed === '1' ? { owner: h.owner ?? '', until: Number(h.until) } : null,
  };
}

function queueOrder(a: QueueRow, b: QueueRow): number {
  return a.priority - b.priority || a.enqueuedAt - b.enqueuedAt || a.seq - b.seq;
}

function take<T extends QueueRow>(list: T[], limit: number | undefined): QueuedItem[] {
  const kept = limit === undefined ? list : list.slice(0, Math.max(0, Math.floor(limit)));
  return kept.map(({ seq: _, ...item }) => item);
}

/** Code-unit order, as the other backends sort ids and loops. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
