// The season's game dates: every other day from 40 days ago to 10 days
// ahead (future games are not expected until their day), printed as one
// JSON list of { date, season } for the coverage spec's `values: { command }`.
const DAY = 86_400_000;
const today = Math.floor(Date.now() / DAY);
const dates = [];
for (let d = today - 40; d <= today + 10; d++) {
  if (d % 2 === 0) dates.push({ date: new Date(d * DAY).toISOString().slice(0, 10), season: '2025-26' });
}
process.stdout.write(`${JSON.stringify(dates)}\n`);
