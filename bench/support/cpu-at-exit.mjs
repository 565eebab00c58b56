// Preloaded with --import by bench/package-footprint.ts: when the process
// exits, appends the CPU time it used (user + system, ms, from
// process.cpuUsage) to the file named by AUTOLOOP_BENCH_CPU_FILE. The wall
// time of a command on a machine others load says more about the machine
// than the command; its CPU time is the figure that holds. One tiny module:
// it costs the process it measures well under a millisecond.
import { appendFileSync } from 'node:fs';

const file = process.env.AUTOLOOP_BENCH_CPU_FILE;
if (file) {
  process.on('exit', () => {
    const { user, system } = process.cpuUsage();
    appendFileSync(file, `${(user + system) / 1000}\n`);
  });
}
