import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Tick } from '../../core/cycle-record.ts';
import { CommandError, RateLimitedError, TerminalError, toErrorInfo } from '../../core/errors.ts';
import { systemClock } from '../../time/system-clock.ts';
import { VirtualClock } from '../../time/virtual-clock.ts';
import { commandStage, functionStage, type LlmCall, llmStage, type StageContext, StageError } from './stage.ts';

const TICK: Tick = { id: 'signals@2026-01-01T00:00:00.000Z', loop: 'signals', trigger: 'cron', scheduledAt: 0 };

function context(overrides: Partial<StageContext> = {}): StageContext {
  return {
    loop: 'signals',
    cycleId: 'c1',
    tick: TICK,
    symbol: 'BTC/USD',
    attempt: 1,
    signal: new AbortController().signal,
    clock: systemClock,
    outputs: {},
    ...overrides,
  };
}

/** True while `pid` is a live process (a zombie counts as gone). */
async function isAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

describe('functionStage', () => {
  it('runs a sync or async function with the input and the context', async () => {
    const sync = functionStage('double', (n: number) => n * 2);
    const asyncStage = functionStage('tag', async (n: number, ctx) => `${ctx.symbol}:${n}`);
    assert.equal(sync.kind, 'function');
    assert.equal(await sync.run(21, context()), 42);
    assert.equal(await asyncStage.run(7, context()), 'BTC/USD:7');
  });

  it('refuses a bad name or a missing function, naming what was expected', () => {
    assert.throws(
      () => functionStage('has space', () => 1),
      /functionStage\("has space"\): name: expected a stage name .*, got "has space"/,
    );
    assert.throws(() => functionStage('ok', 5 as never), /functionStage\("ok"\): expected a function .*, got number/);
  });
});

describe('commandStage', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'autoloop-stage-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('sends the input as JSON on stdin and reads JSON from stdout', async () => {
    const stage = commandStage('enrich', {
      command: `node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const v=JSON.parse(s);console.log('log line');console.log(JSON.stringify({...v,doubled:v.n*2}))})"`,
    });
    assert.equal(stage.kind, 'command');
    assert.deepEqual(await stage.run({ n: 21, symbol: 'BTC/USD' }, context()), {
      n: 21,
      symbol: 'BTC/USD',
      doubled: 42,
    });
  });

  it('exit 3 is a TerminalError; another exit a CommandError with the stderr tail', async () => {
    const terminal = commandStage('t', { command: 'echo "bad symbol" >&2; exit 3' });
    await assert.rejects(terminal.run(null, context()), (error: unknown) => {
      assert.ok(error instanceof TerminalError);
      assert.match((error as Error).message, /exited with code 3 \(do not retry\): bad symbol/);
      return true;
    });
    const failing = commandStage('f', { command: 'echo "upstream down" >&2; exit 1' });
    await assert.rejects(failing.run(null, context()), (error: unknown) => {
      assert.ok(error instanceof CommandError);
      assert.match(error.details.stderrTail, /upstream down/);
      return true;
    });
  });

  it("kills the command's process group when the item's signal aborts", async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const stage = commandStage('slow', { command: `sleep 30 & echo $! > ${pidFile}; wait` });
    const controller = new AbortController();
    const running = stage.run(null, context({ signal: controller.signal }));
    let pid = 0;
    for (let i = 0; i < 100 && pid === 0; i++) {
      pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim()) || 0;
      if (pid === 0) await systemClock.sleep(20);
    }
    assert.ok(pid > 0, 'the command wrote its background child pid');
    const reason = new Error('item timed out');
    const started = performance.now();
    controller.abort(reason);
    await assert.rejects(running, (error) => error === reason);
    assert.ok(performance.now() - started < 5_000, 'the abort ended the stage within the kill grace');
    for (let i = 0; i < 100 && (await isAlive(pid)); i++) await systemClock.sleep(20);
    assert.equal(await isAlive(pid), false, 'the background child of the command was killed with its group');
  });

  it('refuses a missing command or a bad timeout', () => {
    assert.throws(() => commandStage('c', { command: ' ' }), /commandStage\("c"\): command: expected a shell command/);
    assert.throws(
      () => commandStage('c', { command: 'true', timeout: 'soon' }),
      /commandStage\("c"\): timeout: expected a duration > 0 like "10s" or 5000, got "soon"/,
    );
  });
});

describe('llmStage', () => {
  it('asks with the indicator snapshot and the input as previous, and merges the answer', async () => {
    const asked: unknown[] = [];
    const call: LlmCall<{ action: string }> = {
      name: 'advise',
      async run(input, ctx) {
        asked.push(input);
        assert.equal(ctx.signal.aborted, false);
        return { value: { action: 'BUY' }, model: 'm', latencyMs: 12 };
      },
    };
    const plain = llmStage(call);
    assert.equal(plain.kind, 'llm');
    assert.equal(plain.name, 'advise');
    const ctx = context({ outputs: { indicators: { rsi: 28 } } });
    assert.deepEqual(await plain.run({ action: 'HOLD' }, ctx), { action: 'BUY' });
    assert.deepEqual(asked[0], {
      symbol: 'BTC/USD',
      tick: TICK,
      indicators: { rsi: 28 },
      previous: { action: 'HOLD' },
    });
    const merged = llmStage(call, {
      merge: (input, answer) => ({ ...(input as object), advice: answer.value.action }),
    });
    assert.deepEqual(await merged.run({ action: 'HOLD' }, ctx), { action: 'HOLD', advice: 'BUY' });
  });
});

describe('StageError', () => {
  it('names symbol, stage, kind and the cause, and keeps the cause', () => {
    const cause = new Error('connection reset');
    const error = StageError.of('advise', 'llm', 'BTC/USD', cause);
    assert.ok(error instanceof StageError);
    assert.equal(error instanceof TerminalError, false);
    assert.equal(error.name, 'StageError');
    assert.equal(error.stage, 'advise');
    assert.equal(error.kind, 'llm');
    assert.equal(error.cause, cause);
    assert.equal(error.message, 'BTC/USD: stage "advise" (llm): connection reset');
    assert.deepEqual(toErrorInfo(error), { name: 'StageError', message: error.message });
  });

  it('stays terminal when the cause is terminal (no retry)', () => {
    const error = StageError.of('check', 'function', 'ETH/USD', new TerminalError('unknown symbol'));
    assert.ok(error instanceof TerminalError, 'the runtime skips retries for it');
    assert.ok(error instanceof StageError);
    assert.equal(error.stage, 'check');
    assert.equal(error.name, 'StageError');
    assert.equal(error.message, 'ETH/USD: stage "check" (function): TerminalError: unknown symbol');
  });

  it('stays rate-limited with the retry delay when the cause is a RateLimitedError', () => {
    const cause = new RateLimitedError('429 from the server', 7_000);
    const error = StageError.of('score', 'llm', 'SOL/USD', cause);
    assert.ok(error instanceof RateLimitedError, 'the rate limiter pauses on it');
    assert.equal((error as unknown as RateLimitedError).retryAfterMs, 7_000);
    assert.ok(error instanceof StageError);
    assert.equal(error.cause, cause);
    assert.equal(error.stage, 'score');
  });

  it('is not claimed by unrelated errors', () => {
    assert.equal(new Error('x') instanceof StageError, false);
    assert.equal(new TerminalError('x') instanceof StageError, false);
    assert.equal((null as unknown) instanceof StageError, false);
  });

  it('works on a virtual clock too (no real time read by the stage plumbing)', async () => {
    const clock = new VirtualClock();
    const stage = functionStage('at', (_: unknown, ctx) => ctx.clock.now());
    assert.equal(await stage.run(null, context({ clock })), clock.now());
  });
});
