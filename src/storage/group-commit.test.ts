import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { GroupCommit } from './group-commit.ts';

/** A GroupCommit whose commit records every batch and answers each input with input * 10. */
function recording(options: { maxBatch?: number; failOn?: number } = {}) {
  const commits: number[][] = [];
  const group = new GroupCommit<number, number>(
    (inputs) => {
      commits.push([...inputs]);
      if (options.failOn !== undefined && inputs.includes(options.failOn)) throw new Error(`batch ${commits.length}`);
      return inputs.map((n) => n * 10);
    },
    options.maxBatch === undefined ? {} : { maxBatch: options.maxBatch },
  );
  return { group, commits };
}

describe('GroupCommit', () => {
  it('writes the calls made in one turn in one commit, and each caller gets its own result', async () => {
    const { group, commits } = recording();
    const first = [1, 2, 3, 4].map((n) => group.submit(n));
    assert.deepEqual(commits, [], 'nothing commits before the turn ends');
    assert.deepEqual(await Promise.all(first), [10, 20, 30, 40]);
    assert.deepEqual(commits, [[1, 2, 3, 4]]);

    const second = [5, 6].map((n) => group.submit(n));
    assert.deepEqual(await Promise.all(second), [50, 60]);
    assert.deepEqual(commits, [
      [1, 2, 3, 4],
      [5, 6],
    ]);
  });

  it('settles a promise only after the commit that holds its call', async () => {
    const { group, commits } = recording();
    const committedWhenSettled = await group.submit(7).then(() => commits.length);
    assert.equal(committedWhenSettled, 1);
  });

  it('rejects every caller of a batch whose commit throws, but not the next batch', async () => {
    const { group, commits } = recording({ failOn: 2 });
    const failed = [1, 2, 3].map((n) => group.submit(n));
    const outcomes = await Promise.allSettled(failed);
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'rejected' ? (o.reason as Error).message : o.value)),
      ['batch 1', 'batch 1', 'batch 1'],
    );
    assert.deepEqual(await Promise.all([4, 5].map((n) => group.submit(n))), [40, 50]);
    assert.deepEqual(commits, [
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('commits a full batch at once, inside the call that filled it, and the rest at the end of the turn', async () => {
    const { group, commits } = recording({ maxBatch: 3 });
    const calls = [1, 2, 3].map((n) => group.submit(n));
    assert.deepEqual(commits, [[1, 2, 3]], 'the third call committed the full batch synchronously');
    calls.push(...[4, 5, 6, 7].map((n) => group.submit(n)));
    assert.deepEqual(commits, [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual(await Promise.all(calls), [10, 20, 30, 40, 50, 60, 70]);
    assert.deepEqual(commits, [[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('takes an async commit: each caller settles with its result, a rejection rejects the batch, batches overlap', async () => {
    const started: number[][] = [];
    const finishers: Array<() => void> = [];
    const group = new GroupCommit<number, number>(async (inputs) => {
      started.push([...inputs]);
      await new Promise<void>((resolve) => finishers.push(resolve));
      if (inputs.includes(0)) throw new Error('script failed');
      return inputs.map((n) => n + 1);
    });
    const first = [1, 2].map((n) => group.submit(n));
    await nextTurn();
    const second = [0, 3].map((n) => group.submit(n));
    await nextTurn();
    assert.deepEqual(
      started,
      [
        [1, 2],
        [0, 3],
      ],
      'the second batch went out while the first was in flight',
    );
    for (const finish of finishers) finish();
    assert.deepEqual(await Promise.all(first), [2, 3]);
    const outcomes = await Promise.allSettled(second);
    assert.deepEqual(
      outcomes.map((o) => o.status === 'rejected' && (o.reason as Error).message),
      ['script failed', 'script failed'],
    );
  });

  it('never commits an empty batch', async () => {
    const { group, commits } = recording({ maxBatch: 2 });
    const calls = [1, 2].map((n) => group.submit(n));
    assert.deepEqual(await Promise.all(calls), [10, 20]);
    await nextTurn();
    await nextTurn();
    assert.deepEqual(commits, [[1, 2]]);
  });
});
