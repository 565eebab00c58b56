// Imports the modules named on the command line (in order) and prints one
// JSON line: wall time of the imports and the RSS after them. Plain
// JavaScript on purpose: no loader in the figures. Run from inside the
// checkout, `autoloop` resolves to its own dist/ (package self-reference).
const started = performance.now();
for (const name of process.argv.slice(2)) await import(name);
const ms = performance.now() - started;
process.stdout.write(`${JSON.stringify({ ms, rssMiB: process.memoryUsage().rss / 2 ** 20 })}\n`);
