/**
 * A real autoloop process for test/rate-limit-processes.test.ts:
 *
 *   node --import tsx test/support/rate-limit-child.ts '<RateLimitChildSpec as JSON>'
 *
 * Opens the shared store, declares one dependency `api` with the spec's
 * shared `rateLimit`, and runs one loop `load-<role>` every second whose
 * `items` items each make one GET to `url` (the stand-in): so every process
 * keeps asking for more calls than the limit allows. A 429 becomes a
 * RateLimitedError with the Retry-After (which pauses the shared bucket).
 * Prints one JSON line per fact, each with `t` = Date.now():
 *
 * - `ready` {owner}             the runtime started
 * - `call` {key, status}        a call went out (t: when the act started it) and how it was answered
 * - `stopped`                   after a graceful stop on SIGTERM (then exit 0)
 */
import { RateLimitedError } from '../../src/core/errors.ts';
import { parseRetryAfter } from '../../src/policies/parse-retry-after.ts';
import type { Store } from '../../src/storage/store.ts';

export interface RateLimitChildSpec {
  /** A store URL for `openStore` (Redis); else the SQLite file `db`. */
  readonly store?: string;
  readonly db?: string;
  readonly role: string;
  /** The stand-in's URL. */
  readonly url: string;
  readonly rateLimit: { readonly requests: number; readonly per: string };
  /** Items per cycle (and the loop's concurrency). */
  readonly items: number;
}

const spec = JSON.parse(process.argv[2] ?? 'null') as RateLimitChildSpec | null;
if (!spec) throw new Error('usage: rate-limit-child.ts <spec JSON>');

function log(ev: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ ev, t: Date.now(), role: spec?.role, pid: process.pid, ...fields })}\n`);
}

async function openSpecStore(s: RateLimitChildSpec): Promise<Store> {
  if (s.store !== undefined) return (await import('../../src/storage/open-store.ts')).openStore(s.store);
  if (s.db !== undefined) return (await import('../../src/storage/sqlite/sqlite-store.ts')).SqliteStore.open(s.db);
  throw new Error(
    `rate-limit-child ${s.role}: expected "store" (a store URL) or "db" (a SQLite file path), got neither`,
  );
}

async function main(s: RateLimitChildSpec): Promise<void> {
  const [{ defineLoop }, { createRuntime }] = await Promise.all([
    import('../../src/config/define-loop.ts'),
    import('../../src/runtime/runtime.ts'),
  ]);
  const store = await openSpecStore(s);
  const loop = defineLoop({
    name: `load-${s.role}`,
    trigger: { interval: '1s' },
    observe: () => Array.from({ length: s.items }, (_, i) => `k${i}`),
    act: async (item, { signal }) => {
      const startedAt = Date.now();
      const res = await fetch(s.url, { signal });
      await res.text();
      log('call', { key: item.key, status: res.status, t: startedAt });
      if (res.status === 429) {
        const until = parseRetryAfter(res.headers.get('retry-after'), Date.now()) ?? Date.now();
        throw new RateLimitedError('429 Too Many Requests', until - Date.now());
      }
      if (!res.ok) throw new Error(`stand-in answered ${res.status}`);
      return res.status;
    },
    policies: { uses: ['api'], concurrency: s.items, timeout: '2m', retry: { attempts: 1 } },
  });
  const rt = createRuntime({
    loops: [loop],
    store,
    dependencies: { api: { rateLimit: s.rateLimit } },
    shutdownGraceMs: 2_000,
  });
  let stopping = false;
  process.on('SIGTERM', () => {
    if (stopping) return;
    stopping = true;
    rt.stop({ reason: 'SIGTERM', graceMs: 0 })
      .then(async () => {
        await store.close();
        log('stopped');
        process.exit(0);
      })
      .catch((error: unknown) => {
        process.stderr.write(`stop failed: ${error instanceof Error ? error.stack : String(error)}\n`);
        process.exit(1);
      });
  });
  await rt.start();
  log('ready', { owner: rt.owner });
}

main(spec).catch((error: unknown) => {
  process.stderr.write(`rate-limit-child ${spec.role}: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
