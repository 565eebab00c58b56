import type { Command } from 'commander';
import { formatDuration } from '../../time/duration.ts';
import { loadCliConfig } from '../context.ts';
import { type Output, table } from '../output.ts';

export function registerValidate(program: Command, output: Output): void {
  program
    .command('validate [file]')
    .description('check a config file (syntax, keys, types, cron, durations, modules); exit 2 when invalid')
    .option('--json', 'print the resolved config summary as JSON')
    .action(async (file: string | undefined, flags: { json?: boolean }, command: Command) => {
      const parentConfig = command.parent?.opts().config as string | undefined;
      const config = await loadCliConfig({ config: file ?? parentConfig }, process.env, process.cwd());
      const [{ createTrigger }, { redactStoreUrl }] = await Promise.all([
        import('../../scheduling/trigger.ts'),
        import('../../storage/open-store.ts'),
      ]);
      const loops = config.loops.map((loop) => ({
        name: loop.name,
        trigger: createTrigger(loop.trigger).description,
        overlap: loop.overlap,
        timeout: formatDuration(loop.policies.timeoutMs),
        attempts: loop.policies.retry.attempts,
        concurrency: loop.policies.concurrency,
      }));
      if (flags.json) {
        output.out(
          JSON.stringify(
            { valid: true, file: config.file, store: redactStoreUrl(config.store), http: config.http, loops },
            null,
            2,
          ),
        );
        return;
      }
      output.out(
        `${config.file}: valid, ${loops.length} loop(s); store ${redactStoreUrl(config.store)}; http ${config.http.host}:${config.http.port}`,
      );
      output.out(
        table(
          ['loop', 'trigger', 'overlap', 'timeout', 'attempts', 'concurrency'],
          loops.map((l) => [l.name, l.trigger, l.overlap, l.timeout, String(l.attempts), String(l.concurrency)]),
        ),
      );
      for (const note of config.notes) output.out(`note: ${note}`);
    });
}
