import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import type { Tick } from '../../core/cycle-record.ts';
import { RateLimitedError, ShutdownError, TerminalError } from '../../core/errors.ts';
import { VirtualClock } from '../../time/virtual-clock.ts';
import { Pipeline, type StageEnd } from './pipeline.ts';
import { commandStage, functionStage, type StageContext, StageError } from './stage.ts';

const TICK: Tick = { id: 'signals@2026-01-01T00:00:00.000Z', loop: 'signals', trigger: 'cron', scheduledAt: 0 };
const RESULT = z.object({ symbol: z.string(), action: z.enum(['BUY', 'SELL', 'HOLD']), notes: z.array(z.string()) });

function ctx(clock = new VirtualClock(), signal = new AbortController().signal): Omit<StageContext, 'outputs'> {
  return { loop: 'signals', cycleId: 'c1', tick: TICK, symbol: 'BTC/USD', attempt: 1, signal, clock };
}

function pipeline(stages: ConstructorParameters<typeof Pipeline>[0]['stages'], onStage?: (end: StageEnd) => void) {
  return new Pipeline({ stages, output: RESULT, outputName: 'a result', onStage });
}

describe('Pipeline', () => {
  it('runs the stages in order, each on the previous output, with the earlier outputs in ctx', async () => {
    const seen: unknown[] = [];
    const p = pipeline([
      functionStage('first', (input: { symbol: string }) => ({
        symbol: input.symbol,
        action: 'HOLD',
        notes: ['first'],
      })),
      functionStage('second', (input: z.infer<typeof RESULT>, c) => {
        seen.push(c.outputs);
        return { ...input, action: 'BUY', notes: [...input.notes, 'second'] };
      }),
    ]);
    assert.deepEqual(p.names, ['first', 'second']);
    const result = await p.run({ symbol: 'BTC/USD' }, ctx());
    assert.deepEqual(result, { symbol: 'BTC/USD', action: 'BUY', notes: ['first', 'second'] });
    assert.deepEqual(seen[0], { first: { symbol: 'BTC/USD', action: 'HOLD', notes: ['first'] } });
  });

  it('a failing stage ends the run with a StageError naming it; later stages do not run', async () => {
    let laterRan = false;
    const p = pipeline([
      functionStage('ok', () => ({ symbol: 'BTC/USD', action: 'HOLD', notes: [] })),
      functionStage('score', () => {
        throw new Error('model overloaded');
      }),
      functionStage('report', (x: unknown) => {
        laterRan = true;
        return x;
      }),
    ]);
    await assert.rejects(p.run(null, ctx()), (error: unknown) => {
      assert.ok(error instanceof StageError);
      assert.equal(error.stage, 'score');
      assert.equal(error.message, 'BTC/USD: stage "score" (function): model overloaded');
      assert.equal(error instanceof TerminalError, false, 'retryable as its cause');
      return true;
    });
    assert.equal(laterRan, false);
  });

  it("keeps the cause's terminal and rate-limited meaning", async () => {
    const terminal = pipeline([
      functionStage('a', () => {
        throw new TerminalError('bad config');
      }),
    ]);
    await assert.rejects(terminal.run(null, ctx()), (e) => e instanceof TerminalError && e instanceof StageError);
    const limited = pipeline([
      functionStage('a', () => {
        throw new RateLimitedError('429', 3_000);
      }),
    ]);
    await assert.rejects(
      limited.run(null, ctx()),
      (e) => e instanceof RateLimitedError && e.retryAfterMs === 3_000 && e instanceof StageError,
    );
  });

  it('an output that is not a valid result is a terminal StageError of the last stage, naming the fields', async () => {
    const p = pipeline([functionStage('last', () => ({ symbol: 'BTC/USD', action: 'MAYBE' }))]);
    await assert.rejects(p.run(null, ctx()), (error: unknown) => {
      assert.ok(error instanceof StageError);
      assert.ok(error instanceof TerminalError);
      assert.equal(error.stage, 'last');
      assert.match(
        error.message,
        /BTC\/USD: stage "last" \(function\): TerminalError: the last stage's output is not a result: /,
      );
      assert.match(error.message, /action: expected one of "BUY", "SELL", "HOLD", got "MAYBE"/);
      assert.match(error.message, /notes: expected a list, got nothing/);
      return true;
    });
  });

  it("an abort passes the signal's reason through unwrapped, and stops before the next stage", async () => {
    const controller = new AbortController();
    const reason = new ShutdownError();
    let secondRan = false;
    const p = pipeline([
      functionStage('wait', async (_: unknown, c) => {
        controller.abort(reason);
        throw c.signal.reason;
      }),
      functionStage('second', () => {
        secondRan = true;
      }),
    ]);
    await assert.rejects(p.run(null, ctx(new VirtualClock(), controller.signal)), (e) => e === reason);
    assert.equal(secondRan, false);
    const second = new AbortController();
    const between = pipeline([
      functionStage('first', () => second.abort(reason)),
      functionStage('second', () => {
        secondRan = true;
      }),
    ]);
    await assert.rejects(between.run(null, ctx(new VirtualClock(), second.signal)), (e) => e === reason);
    assert.equal(secondRan, false);
  });

  it('reports each stage with its kind, outcome and duration on the clock', async () => {
    const clock = new VirtualClock();
    const ends: StageEnd[] = [];
    const p = pipeline(
      [
        functionStage('slow', async (_: unknown, c) => {
          await c.clock.sleep(1_500);
          return { symbol: 'BTC/USD', action: 'SELL', notes: [] };
        }),
        functionStage('fails', () => {
          throw new Error('no');
        }),
      ],
      (end) => {
        ends.push(end);
        throw new Error('a broken observer is ignored');
      },
    );
    const run = p.run(null, ctx(clock));
    const settled = run.catch((e: unknown) => e);
    await clock.advance(1_500);
    assert.ok((await settled) instanceof StageError);
    assert.deepEqual(ends, [
      { loop: 'signals', symbol: 'BTC/USD', stage: 'slow', kind: 'function', ok: true, durationMs: 1_500 },
      { loop: 'signals', symbol: 'BTC/USD', stage: 'fails', kind: 'function', ok: false, durationMs: 0 },
    ]);
  });

  it('a command stage in the middle gets the previous output on stdin', async () => {
    const p = new Pipeline({
      stages: [
        functionStage('start', () => ({ symbol: 'ETH/USD', action: 'HOLD', notes: [] })),
        commandStage('shout', {
          command: `node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const v=JSON.parse(s);v.notes.push('from a command');v.action='SELL';process.stdout.write(JSON.stringify(v))})"`,
        }),
      ],
      output: RESULT,
      outputName: 'a result',
    });
    const { systemClock } = await import('../../time/system-clock.ts');
    assert.deepEqual(await p.run(null, ctx(systemClock as unknown as VirtualClock)), {
      symbol: 'ETH/USD',
      action: 'SELL',
      notes: ['from a command'],
    });
  });

  it('refuses no stages, a non-stage or duplicate names', () => {
    assert.throws(() => pipeline([]), /pipeline: stages: expected at least one stage, got an empty list/);
    assert.throws(() => pipeline([{ name: 'x' } as never]), /pipeline: stages\[0\]: expected a stage/);
    const a = functionStage('a', () => 1);
    assert.throws(() => pipeline([a, a]), /pipeline: stages\[1\]: expected a unique stage name, got "a" twice/);
  });
});
