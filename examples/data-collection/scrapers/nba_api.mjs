// Fast: about 100 ms per game date.
import { collect } from './write.mjs';

const [path, date] = process.argv.slice(2);
await collect(path, { source: 'nba_api', date, games: [{ home: 'BOS', away: 'LAL' }] }, 100);
