import type { Command } from 'commander';
import { onShutdownSignals, signalExitCode } from '../../lifecycle/shutdown-signals.ts';
import type { Runtime } from '../../runtime/runtime.ts';
import { formatDuration } from '../../time/duration.ts';
import { type ConfigFlags, EXIT, loadCliConfig, requireLoop } from '../context.ts';
import { countingStore } from '../counting-store.ts';
import { type Output, outcomeText, palette } from '../output.ts';
import { ProgressLine } from '../progress-line.ts';

interface RunFlags extends ConfigFlags {
  json?: boolean;
}

export function registerRun(program: Command, output: Output): void {
  program
    .command('run <loop>')
    .description(
      'run one cycle of <loop> now, print each item as it finishes (with a progress line on a terminal); exit 1 if the cycle failed',
    )
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
  const progress =
    output.isTTY === true && !flags.json && output.raw
      ? new ProgressLine(output.raw.bind(output), palette(output))
      : null;
  const [{ createRuntime }, { runtimeOptionsFromConfig }, { openStore }, { silentLogger }] = await Promise.all([
    import('../../runtime/runtime.ts'),
    import('../../runtime/from-config.ts'),
    import('../../storage/open-store.ts'),
    import('../../core/logger.ts'),
  ]);
  const store = await openStore(config.store, { cwd: config.dir });
  const runtime = createRuntime(
    runtimeOptionsFromConfig(config, {
      store: countingStore(store, (loop, _cycle, count) => {
        if (loop === name) progress?.planned(count);
      }),
      http: false,
      observability: {},
      logger: silentLogger,
      // One cycle of one loop: the daemon runs the services, not this.
      runnables: [],
    }),
  );
  const remove = onShutdownSignals({
    graceful: () => void runtime.stop({ reason: 'signal' }),
    forced: (signal) => process.exit(signalExitCode(signal)),
  });
  try {
    await runtime.start({ schedule: false });
  } catch (error) {
    remove();
    await store.close();
    throw error;
  }
  try {
    if (!flags.json) printItems(runtime, output, progress);
    const record = await runtime.run(name);
    progress?.clear();
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
    progress?.clear();
    remove();
    await runtime.stop();
    await store.close();
  }
}

/** One line per finished item (and per retry); on a terminal, above a progress line. */
function printItems(runtime: Runtime, output: Output, progress: ProgressLine | null): void {
  const style = palette(output);
  const say = (line: string) => (progress ? progress.above(() => output.out(line)) : output.out(line));
  runtime.bus.on('item.started', (e) => {
    if (e.attempt === 1) progress?.started(e.key);
  });
  runtime.bus.on('item.succeeded', (e) => {
    progress?.finished(e.key, 'ok');
    say(`  ${style.green('ok')}   ${e.key}  ${formatDuration(e.durationMs)}`);
  });
  runtime.bus.on('item.skipped', (e) => {
    progress?.finished(e.key, 'skipped');
    say(`  ${style.yellow('skip')} ${e.key}  ${e.reason}`);
  });
  runtime.bus.on('item.failed', (e) => {
    progress?.finished(e.key, 'failed');
    const tries = e.attempts > 1 ? ` after ${e.attempts} attempts` : '';
    say(
      `  ${style.red('FAIL')} ${e.key}  ${formatDuration(e.durationMs)}${tries}  ${e.error.name}: ${e.error.message}`,
    );
    if (e.error.stderrTail) say(`       stderr: ${e.error.stderrTail.trim().split('\n').slice(-3).join(' | ')}`);
  });
  runtime.bus.on('item.retried', (e) =>
    say(`  ...  ${e.key}  attempt ${e.attempt} failed (${e.error.message}); retry in ${formatDuration(e.delayMs)}`),
  );
}
