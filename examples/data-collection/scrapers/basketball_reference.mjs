// Flaky: every fourth game date (by days since 1970; the season plays every
// other day, so some fall in any window) fails its first attempt (retried
// after 2 s, then succeeds); the 13th never has box scores (exit 3: do not
// retry), so that gap stays in the report.
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { collect } from './write.mjs';

const [path, date] = process.argv.slice(2);
const day = Number(date.slice(8, 10));
if (day === 13) {
  process.stderr.write(`no box scores published for ${date}\n`);
  process.exit(3);
}
const marker = join(dirname(dirname(dirname(path))), `.attempted-${date}`);
if ((Date.parse(date) / 86_400_000) % 8 === 0 && !existsSync(marker)) {
  writeFileSync(marker, '');
  process.stderr.write(`HTTP 503 from basketball-reference for ${date}\n`);
  process.exit(1);
}
await collect(path, { source: 'basketball_reference', date, boxscores: 2 }, 200);
