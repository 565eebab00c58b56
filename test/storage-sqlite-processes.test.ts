import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts';

/**
 * Several real processes on one SQLite file: the guarantees DESIGN.md makes
 * for "several processes on one machine share it".
 */

const projectRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const writer = join(projectRoot, 'test', 'support', 'sqlite-writer.ts');
const root = mkdtempSync(join(tmpdir(), 'autoloop-sqlite-procs-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A running writer child: its stdout lines so far, and a promise of how it ended. */
interface Child {
  readonly process: ChildProcess;
  readonly lines: string[];
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once a stdout line satisfies `match`; rejects if the child exits first. */
  waitForLine(match: (line: string) => boolean): Promise<string>;
}

const children: Child[] = [];

afterEach(async () => {
  // Nothing may outlive its test: kill what is still running and wait for it.
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    await child.exited;
  }
});

function startWriter(...args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', writer, ...args], {
    cwd: projectRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  let partial = '';
  const waiters = new Set<() => void>();
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    for (const wake of waiters) wake();
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(proc, 'exit').then(([code, signal]) => {
    for (const wake of waiters) wake();
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  const child: Child = {
    process: proc,
    lines,
    stderr: () => stderr,
    exited,
    waitForLine: (match) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.find(match);
          if (line !== undefined) {
            waiters.delete(check);
            resolve(line);
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            waiters.delete(check);
            reject(new Error(`writer ${args.join(' ')} exited before the expected line; stderr: ${stderr}`));
          }
        };
        waiters.add(check);
        check();
      }),
  };
  children.push(child);
  return child;
}

/** Starts the writers, waits until all have opened the store, then lets them go at once. */
async function runTogether(argsList: string[][]): Promise<unknown[]> {
  const started = argsList.map((args) => startWriter(...args));
  await Promise.all(started.map((c) => c.waitForLine((l) => l === 'ready')));
  for (const c of started) c.process.stdin?.write('go\n');
  return Promise.all(
    started.map(async (c) => {
      const { code } = await c.exited;
      assert.equal(code, 0, `writer failed: ${c.stderr()}`);
      assert.doesNotMatch(c.stderr(), /SQLITE_BUSY|StoreError/);
      return JSON.parse(c.lines.at(-1) ?? 'null');
    }),
  );
}

describe('SQLite shared by several processes', { timeout: 180_000 }, () => {
  it('4 processes enqueue and complete 500 items each on one file, without SQLITE_BUSY', async () => {
    const path = join(root, 'work', 'state.db');
    const tags = ['p1', 'p2', 'p3', 'p4'];
    const outputs = await runTogether(tags.map((tag) => ['work', path, tag, '500']));
    assert.deepEqual(
      outputs,
      tags.map(() => ({ done: 500 })),
    );

    const store = SqliteStore.open(path);
    try {
      for (const tag of tags) {
        const results = await store.cycles.items(`cycle-${tag}`);
        assert.equal(results.length, 500, `results of ${tag}`);
        assert.equal(new Set(results.map((r) => r.key)).size, 500);
      }
      assert.deepEqual(await store.queue.list(), []);
    } finally {
      await store.close();
    }
    // The writes must really have interleaved, or this test proves nothing about locking.
    const raw = new Database(path, { readonly: true });
    const order = raw.prepare<[], { cycle_id: string }>('SELECT cycle_id FROM item_results ORDER BY seq').all();
    raw.close();
    const switches = order.filter((row, i) => i > 0 && row.cycle_id !== order[i - 1]?.cycle_id).length;
    assert.ok(switches >= 3, `writers ran one after another (${switches} switches)`);
  });

  it('8 processes opening the same new file at once all open it (WAL switch and migrations race)', async () => {
    for (let round = 0; round < 3; round++) {
      const path = join(root, `open-${round}`, 'state.db');
      const outputs = await runTogether(Array.from({ length: 8 }, (_, i) => ['open', path, `o${i}`]));
      assert.deepEqual(
        outputs,
        outputs.map(() => ({ opened: true })),
      );
    }
  });

  it('3 processes racing cycles.start for the same 200 ticks record exactly one cycle per tick', async () => {
    const path = join(root, 'race', 'state.db');
    const tags = ['r1', 'r2', 'r3'];
    const outputs = (await runTogether(tags.map((tag) => ['race', path, tag, '200']))) as Array<{ wins: number[] }>;
    const wins = outputs.flatMap((o) => o.wins).sort((a, b) => a - b);
    assert.deepEqual(
      wins,
      Array.from({ length: 200 }, (_, i) => i),
      'every tick won exactly once',
    );

    const store = SqliteStore.open(path);
    try {
      const records = await store.cycles.list('race');
      assert.equal(records.length, 200);
      assert.equal(new Set(records.map((r) => r.tickId)).size, 200);
      tags.forEach((tag, i) => {
        const owned = records.filter((r) => r.owner === tag).map((r) => r.startedAt);
        assert.deepEqual(
          owned.sort((a, b) => a - b),
          outputs[i]?.wins,
          `${tag} holds the ticks it won`,
        );
      });
    } finally {
      await store.close();
    }
  });

  it('a writer killed with SIGKILL mid-burst leaves a file that opens, with every batch whole or absent', async () => {
    const path = join(root, 'kill', 'state.db');
    const child = startWriter('burst', path, 'k1');
    await child.waitForLine((l) => l === 'committed 40');
    child.process.kill('SIGKILL');
    const { signal } = await child.exited;
    assert.equal(signal, 'SIGKILL');
    const lastCommitted = Math.max(...child.lines.map((l) => Number(/^committed (\d+)$/.exec(l)?.[1] ?? -1)));

    const raw = new Database(path);
    assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
    raw.close();

    const store = SqliteStore.open(path);
    try {
      const queued = await store.queue.list('burst');
      const events = await store.events.after(0, { limit: 100_000 });
      const cycles = await store.cycles.list('burst');
      const batches = Math.max(lastCommitted + 2, ...cycles.map((c) => Number(c.id.slice('burst-'.length)) + 1));
      let whole = 0;
      for (let batch = 0; batch < batches; batch++) {
        const inQueue = new Set(queued.filter((q) => q.cycleId === `burst-${batch}`).map((q) => q.key));
        const done = new Set((await store.cycles.items(`burst-${batch}`)).map((r) => r.key));
        const batchEvents = events.filter((e) => (e.data as { batch: number }).batch === batch);
        const record = cycles.find((c) => c.id === `burst-${batch}`);
        const where = `batch ${batch} (last committed ${lastCommitted})`;

        assert.ok(
          inQueue.size + done.size === 0 || inQueue.size + done.size === 10,
          `${where}: enqueue is all or nothing`,
        );
        for (const key of done) assert.ok(!inQueue.has(key), `${where}: ${key} completed and still queued`);
        if (inQueue.size + done.size === 10) {
          for (let i = 1; i < 10; i += 2) assert.ok(inQueue.has(`b${batch}-${i}`), `${where}: uncompleted item lost`);
        }
        assert.ok(batchEvents.length === 0 || batchEvents.length === 5, `${where}: append is all or nothing`);
        if (record) assert.ok(record.outcome.kind === 'running' || record.outcome.kind === 'ok', where);
        if (batch <= lastCommitted) {
          // The child printed this only after the writes committed: a process crash must not lose them.
          assert.equal(done.size, 5, `${where}: completed results`);
          assert.equal(inQueue.size, 5, `${where}: queued items`);
          assert.equal(batchEvents.length, 5, `${where}: events`);
          assert.deepEqual(record?.outcome, { kind: 'ok' }, `${where}: cycle`);
          whole++;
        }
      }
      assert.ok(whole >= 41);
      // The file is writable again.
      await store.events.append([{ at: 0, type: 'after-crash', loop: null, data: null }]);
      assert.equal((await store.events.latest({ limit: 1 }))[0]?.type, 'after-crash');
    } finally {
      await store.close();
    }
  });

  it('4 processes racing for the same 50 keys for 2 s never hold a key at once, and tokens follow acquisition order', async () => {
    const path = join(root, 'leases', 'state.db');
    const tags = ['l1', 'l2', 'l3', 'l4'];
    const outputs = (await runTogether(tags.map((tag) => ['leases', path, tag, '2000']))) as Array<{
      held: Array<[key: number, token: number, acquiredAt: number, releasedAt: number]>;
      refused: number;
    }>;
    const byKey = new Map<number, Array<{ tag: string; token: number; acquiredAt: number; releasedAt: number }>>();
    outputs.forEach((output, i) => {
      assert.ok(output.held.length > 0, `${tags[i]} never held a key`);
      for (const [key, token, acquiredAt, releasedAt] of output.held) {
        const list = byKey.get(key) ?? [];
        list.push({ tag: tags[i] as string, token, acquiredAt, releasedAt });
        byKey.set(key, list);
      }
    });
    const refused = outputs.reduce((n, o) => n + o.refused, 0);
    assert.ok(refused > 0, 'the processes never collided, so this test proved nothing');
    assert.equal(byKey.size, 50);

    const store = SqliteStore.open(path);
    try {
      for (const [key, list] of byKey) {
        // Times are Date.now() in every process: one clock, ms resolution. Each interval is inside the
        // real holding time, so a correct store leaves them disjoint; ties on acquiredAt are overlaps too.
        list.sort((a, b) => a.acquiredAt - b.acquiredAt);
        for (let i = 1; i < list.length; i++) {
          const prev = list[i - 1]!;
          const next = list[i]!;
          const where = `key-${key}: ${prev.tag}#${prev.token} [${prev.acquiredAt}, ${prev.releasedAt}] then ${next.tag}#${next.token} [${next.acquiredAt}, ${next.releasedAt}]`;
          assert.ok(next.acquiredAt >= prev.releasedAt, `two holders at once: ${where}`);
          assert.ok(next.token > prev.token, `token went down in acquisition order: ${where}`);
        }
        // Every acquire got the next token: 1..n, each once.
        assert.equal(await store.leases.currentToken(`key-${key}`), list.length, `key-${key}`);
      }
      assert.deepEqual(await store.leases.list(Date.now()), [], 'every lease was released');
    } finally {
      await store.close();
    }
  });

  it('a bucket of 100 per 1 s shared by 4 processes for 2 s grants no more than capacity + refill', async () => {
    const path = join(root, 'bucket', 'state.db');
    const tags = ['b1', 'b2', 'b3', 'b4'];
    const outputs = (await runTogether(tags.map((tag) => ['bucket', path, tag, '2000']))) as Array<{
      granted: number;
      refused: number;
      firstNow: number;
      lastNow: number;
    }>;
    const granted = outputs.reduce((n, o) => n + o.granted, 0);
    const refused = outputs.reduce((n, o) => n + o.refused, 0);
    // The bucket was created full by the first take, at no earlier than the earliest `now` any process
    // passed, and refilled at most up to the latest one.
    const spanMs = Math.max(...outputs.map((o) => o.lastNow)) - Math.min(...outputs.map((o) => o.firstNow));
    const bound = 100 + (spanMs * 100) / 1000;
    const detail = `${granted} granted, ${refused} refused over ${spanMs} ms (bound ${bound})`;
    assert.ok(granted <= bound + 1e-6, `over the limit: ${detail}`);
    // The limit was really contended, and really refilled across processes. Which process wins a refilled
    // grant is not promised (a loaded machine may start one late, after the others took every grant), so
    // the check is that grants went to more than one process.
    assert.ok(refused > 0 && granted > 100, detail);
    const winners = outputs.flatMap((o, i) => (o.granted > 0 ? [tags[i]] : []));
    assert.ok(winners.length >= 2, `grants went to ${winners.join(', ') || 'no process'} only: ${detail}`);
  });
});
