import { checkCount, checkFinite, checkName, jsonText, limitOf } from '../state-input.ts';
import type { JournalEntry, JournalStore } from '../store.ts';
import type { RunRedis } from './redis-store.ts';

const DEFAULT_READ_LIMIT = 1000;

/**
 * Recipes' journals on Redis, for `RedisStore`: one Lua script per
 * operation (./state-scripts.ts); a journal is a sorted set scored by seq,
 * its seq counter a hash field that trim leaves alone. All keys are under
 * the store's prefix.
 *
 * @example
 * const [seq] = await store.journals.append('decide/audit', [{ decision: 'scale-up' }], now);
 */
export function redisJournalStore(run: RunRedis): JournalStore {
  return {
    append: async (journal, entries, now) => {
      checkName('journal', journal, 'journals.append');
      const where = `journals.append ${journal}`;
      checkFinite('now', now, where);
      const texts = entries.map((entry, i) => jsonText(entry, `${where} (entry ${i})`));
      if (texts.length === 0) return run('journals.append', async () => []);
      // One line per entry: JSON text never holds a raw newline.
      const args = [journal, now, texts.join('\n')];
      const first = Number(await run('journals.append', (io) => io.script('jrAppend', ...args)));
      return texts.map((_, i) => first + i);
    },
    read: async (journal, options) => {
      checkName('journal', journal, 'journals.read');
      const after = options?.after ?? 0;
      checkFinite('after', after, `journals.read ${journal}`);
      const limit = limitOf(options?.limit, DEFAULT_READ_LIMIT);
      if (limit === 0) return run('journals.read', async () => []);
      const members = (await run('journals.read', (io) => io.script('jrRead', journal, after, limit))) as string[];
      return members.map(fromMember);
    },
    trim: async (journal, options) => {
      checkName('journal', journal, 'journals.trim');
      const where = `journals.trim ${journal}`;
      const { before, keepLast } = options ?? {};
      if (before !== undefined) checkFinite('before', before, where);
      if (keepLast !== undefined) checkCount('keepLast', keepLast, where);
      const args = [journal, before ?? '', keepLast ?? ''];
      return Number(await run('journals.trim', (io) => io.script('jrTrim', ...args)));
    },
  };
}

/** An entry from its member, `<seq> <at> <value JSON>`. */
function fromMember(member: string): JournalEntry {
  const first = member.indexOf(' ');
  const second = member.indexOf(' ', first + 1);
  return {
    seq: Number(member.slice(0, first)),
    at: Number(member.slice(first + 1, second)),
    value: JSON.parse(member.slice(second + 1)),
  };
}
