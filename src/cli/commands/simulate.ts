import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { parseDuration } from '../../time/duration.ts';
import { systemClock } from '../../time/system-clock.ts';
import { CliExit, EXIT, loadCliConfig } from '../context.ts';
import type { Output } from '../output.ts';

interface SimulateFlags {
  config?: string;
  duration: string;
  instances: string;
  seed: string;
  faults?: string;
  json?: boolean;
  report?: string;
  store?: boolean | string;
}

/**
 * `autoloop simulate`: the config's loops through a month (by default) of
 * virtual time with faults, as an SLO report; exit 1 when an SLO fails.
 */
export function registerSimulate(program: Command, output: Output): void {
  program
    .command('simulate')
    .description(
      'run the loops on a virtual clock with seeded faults and print an SLO report; exit 1 when an SLO fails',
    )
    .option('-c, --config <file>', 'config file (default ./autoloop.yaml)')
    .option('--duration <duration>', 'simulated time, e.g. 30d, 12h', '30d')
    .option('--instances <n>', 'runtime instances sharing the store', '3')
    .option('--seed <n>', 'seed of every random draw (an integer)', '1')
    .option(
      '--faults <preset|file>',
      'chaos-light, chaos-heavy, none, or a fault file (default: simulate.faults, else none)',
    )
    .option('--json', 'print the report as JSON')
    .option('--report <file>', 'also write the JSON report to this file')
    .option(
      '--store [url]',
      'share a fresh temp SQLite file instead of a memory store (slower); with a store URL or SQLite file, act models for loops the config gives none are also taken from its recent cycles (only read)',
    )
    .action(async (flags: SimulateFlags, command: Command) => {
      const configFile = flags.config ?? (command.parent?.opts().config as string | undefined);
      const durationMs = parseDuration(flags.duration);
      if (durationMs === undefined || durationMs < 60_000) {
        throw new CliExit(
          EXIT.usage,
          `--duration: expected a duration of at least 1m like "30d" or "12h", got "${flags.duration}"`,
        );
      }
      const instances = integer('--instances', flags.instances, 1, 64);
      const seed = integer('--seed', flags.seed, 0, 2 ** 32 - 1);
      const config = await loadCliConfig({ config: configFile }, process.env, process.cwd());
      const [{ loadFaults, checkServiceTargets }, { simulate }, { formatReport }] = await Promise.all([
        import('../../simulation/fault-plan.ts'),
        import('../../simulation/simulation.ts'),
        import('../../simulation/format-report.ts'),
      ]);
      const source = flags.faults ?? (typeof config.simulate?.faults === 'string' ? config.simulate.faults : undefined);
      const faults =
        source !== undefined
          ? await loadFaults(source, process.cwd()).catch((error: unknown) => {
              throw error instanceof Error && error.name === 'ConfigError'
                ? new CliExit(EXIT.usage, error.message)
                : error;
            })
          : {
              name: Array.isArray(config.simulate?.faults) ? 'simulate.faults' : 'none',
              faults: Array.isArray(config.simulate?.faults) ? config.simulate.faults : [],
            };
      try {
        checkServiceTargets(
          faults.faults,
          config.services.map((x) => x.name),
          faults.name,
        );
      } catch (error) {
        throw new CliExit(EXIT.usage, error instanceof Error ? error.message : String(error));
      }
      const history = typeof flags.store === 'string' ? await readHistory(flags.store, config.loops) : undefined;
      const temp = flags.store ? await tempSqlite() : null;
      const started = systemClock.monotonic();
      try {
        const result = await simulate({
          config,
          durationMs,
          instances,
          seed,
          faults,
          ...(temp && { store: temp.store, settleRounds: 3 }),
          ...(history && { history }),
        });
        const wallMs = systemClock.monotonic() - started;
        const { report } = result;
        if (flags.report) await writeFile(flags.report, `${JSON.stringify(report, null, 2)}\n`);
        output.out(flags.json ? JSON.stringify(report, null, 2) : formatReport(report));
        const speed = Math.round(durationMs / wallMs);
        output.err(`simulated ${flags.duration} in ${(wallMs / 1000).toFixed(1)} s wall (${speed}x real time)`);
        if (!report.slo.ok) {
          const args = [
            `--duration ${flags.duration}`,
            `--instances ${instances}`,
            `--seed ${seed}`,
            `--faults ${faults.name}`,
          ];
          output.err(
            `an SLO failed with seed ${seed}; replay it with: autoloop simulate -c ${config.file} ${args.join(' ')}`,
          );
          process.exitCode = EXIT.failed;
        }
      } finally {
        await temp?.dispose();
      }
    });
}

function integer(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new CliExit(EXIT.usage, `${flag}: expected an integer from ${min} to ${max}, got "${text}"`);
  }
  return n;
}

/**
 * Act models from the recent cycles of the store `where` names (a store URL,
 * or a SQLite file path), which is only read. A SQLite file that does not
 * exist is a usage error (opening it would create an empty one).
 */
async function readHistory(where: string, loops: ReadonlyArray<{ name: string }>) {
  const [{ existsSync }, { resolve }, { openStore }, { modelsFromHistory }] = await Promise.all([
    import('node:fs'),
    import('node:path'),
    import('../../storage/open-store.ts'),
    import('../../simulation/history-models.ts'),
  ]);
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(where) ? where : `sqlite://${resolve(where)}`;
  const file = /^sqlite:\/\/([^?]*)/i.exec(url)?.[1];
  if (file !== undefined && !existsSync(resolve(file))) {
    throw new CliExit(
      EXIT.usage,
      `--store: expected an existing store to read history from, got "${where}" (no such file)`,
    );
  }
  const store = await openStore(url, { cwd: process.cwd() });
  try {
    return await modelsFromHistory(
      store,
      loops.map((l) => l.name),
    );
  } finally {
    await store.close();
  }
}

/** A fresh SQLite store in a temp directory, removed afterwards. */
async function tempSqlite() {
  const [{ mkdtempSync, rmSync }, { tmpdir }, { join }, { SqliteStore }] = await Promise.all([
    import('node:fs'),
    import('node:os'),
    import('node:path'),
    import('../../storage/sqlite/sqlite-store.ts'),
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'autoloop-simulate-'));
  const store = SqliteStore.open(join(dir, 'state.db'));
  return {
    store,
    dispose: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
