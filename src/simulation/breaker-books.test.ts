import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BreakerBooks } from './breaker-books.ts';

describe('BreakerBooks', () => {
  it('an instance is not ready while any of its breakers is open; overlapping openings count once', () => {
    const books = new BreakerBooks();
    books.transition('1', 'store', 'open', 100);
    books.transition('1', 'llm', 'open', 150);
    books.transition('1', 'store', 'half-open', 160);
    books.transition('1', 'store', 'closed', 200);
    books.transition('1', 'llm', 'closed', 300);
    assert.deepEqual(books.notReady(), { ms: 200, spells: 1 });
    assert.deepEqual(books.summary(), [
      { breaker: 'llm', openings: 1, openMs: 150 },
      { breaker: 'store', openings: 1, openMs: 100 },
    ]);
  });

  it("a crash ends the instance's spell; the end of the run closes what is still open", () => {
    const books = new BreakerBooks();
    books.transition('1', 'store', 'open', 1_000);
    books.transition('2', 'store', 'open', 1_200);
    books.forget('1', 1_500);
    books.transition('1', 'store', 'closed', 1_600); // a closing after the crash changes nothing
    books.close(2_000);
    assert.deepEqual(books.notReady(), { ms: 500 + 800, spells: 2 });
    assert.deepEqual(books.summary(), [{ breaker: 'store', openings: 2, openMs: 1_300 }]);
  });
});
