// Run by bench/package-footprint.ts in a fresh process on plain node: the
// compiled engine's CPU per item (dist/, through the package's exports map),
// one cycle of ITEMS no-op items at concurrency 10 on the in-memory store,
// after a warm-up cycle. Prints {"cpuUsPerItem": n}. The same loop as the
// SQLite section's in-memory line, which runs src/ through tsx.
import { createRuntime, defineLoop } from 'autoloop';

const ITEMS = Number(process.argv[2] ?? 20_000);
const loop = defineLoop({
  name: 'bench',
  trigger: { manual: true },
  observe: () => Array.from({ length: ITEMS }, (_, i) => `item-${i}`),
  act: () => null,
  policies: { concurrency: 10, lease: false },
});
const runtime = createRuntime({ loops: [loop], store: 'memory://' });
await runtime.start({ schedule: false });
await runtime.run('bench');
const cpu = process.cpuUsage();
const record = await runtime.run('bench');
const spent = process.cpuUsage(cpu);
await runtime.stop();
if (record.counts.succeeded !== ITEMS)
  throw new Error(`engine probe: expected ${ITEMS} items, got ${record.counts.succeeded}`);
process.stdout.write(`${JSON.stringify({ cpuUsPerItem: (spent.user + spent.system) / ITEMS })}\n`);
