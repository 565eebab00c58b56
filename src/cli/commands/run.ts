import type { Command } from 'commander';
import { silentLogger } from '../../core/logger.ts';
import { onShutdownSignals, signalExitCode } from '../../lifecycle/shutdown-signals.ts';
import { createRuntime } from '../../runtime/runtime.ts';
import { formatDuration } from '../../time/duration.ts';
import { type ConfigFlags, EXIT, loadCliConfig, requireLoop } from '../context.ts';
import { type Output, outcomeText } from '../output.ts';

interface RunFlags extends ConfigFlags {
  json?: boolean;
}

export function registerRun(program: Command, output: Output): void {
  program
    .command('run <loop>')
    .description('run one cycle of <loop> now, print each item as it finishes; exit 1 if the cycle failed')
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--store <url>', 'store URL, overrides `store:`')
    .option('--json', 'print the cycle record as JSON at the end instead of text')
    .action(async (loop: string, flags: RunFlags) => {
      process.exitCode = await run(loop, flags, output);
    });
}

async function run(name: string, flags: RunFlags, output: Output): Promise<number> {
  const config = await loadCliConfig(flags, process.env, process.cwd());
  requireLoop(config, name, 'run');
  const runtime = createRuntime({
    loops: config.loops,
    store: config.store,
    http: false,
    shutdownGraceMs: config.shutdown.graceMs,
    leaseTtlMs: config.leases.ttlMs,
    dependencies: config.dependencies,
    logger: silentLogger,
    cwd: config.dir,
  });
  const remove = onShutdownSignals({
    graceful: () => void runtime.stop({ reason: 'signal' }),
    forced: (signal) => process.exit(signalExitCode(signal)),
  });
  await runtime.start({ schedule: false });
  try {
    if (!flags.json) {
      runtime.bus.on('item.succeeded', (e) => output.out(`  ok   ${e.key}  ${formatDuration(e.durationMs)}`));
      runtime.bus.on('item.failed', (e) => {
        const tries = e.attempts > 1 ? ` after ${e.attempts} attempts` : '';
        output.out(`  FAIL ${e.key}  ${formatDuration(e.durationMs)}${tries}  ${e.error.name}: ${e.error.message}`);
        if (e.error.stderrTail)
          output.out(`       stderr: ${e.error.stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
      });
      runtime.bus.on('item.retried', (e) =>
        output.out(
          `  ...  ${e.key}  attempt ${e.attempt} failed (${e.error.message}); retry in ${formatDuration(e.delayMs)}`,
        ),
      );
    }
    const record = await runtime.run(name);
    if (flags.json) {
      const items = await runtime.store.cycles.items(record.id);
      output.out(JSON.stringify({ ...record, items }, null, 2));
    } else {
      const took = record.finishedAt === null ? '' : ` in ${formatDuration(record.finishedAt - record.startedAt)}`;
      const { planned, succeeded, failed } = record.counts;
      output.out(
        `cycle ${record.id} of ${name}: ${outcomeText(record)}${took}; ${planned} planned, ${succeeded} ok, ${failed} failed`,
      );
    }
    return record.outcome.kind === 'ok' || record.outcome.kind === 'partial' ? EXIT.ok : EXIT.failed;
  } finally {
    remove();
    await runtime.stop();
  }
}
