import type { Command } from 'commander';
import { formatDuration } from '../../time/duration.ts';
import { CliExit, EXIT, loadCliConfig } from '../context.ts';
import { type Output, table } from '../output.ts';

export function registerValidate(program: Command, output: Output): void {
  program
    .command('validate [file]')
    .description('check a config file (syntax, keys, types, cron, durations, modules); exit 2 when invalid')
    .option('-c, --config <file>', 'config file, as for every other command (or give it as [file])')
    .option('--json', 'print the resolved config summary as JSON (the admin token only as `tokenSet`)')
    .action(async (file: string | undefined, flags: { json?: boolean; config?: string }, command: Command) => {
      if (file !== undefined && flags.config !== undefined && file !== flags.config) {
        throw new CliExit(EXIT.usage, `validate: got two configs, ${file} and --config ${flags.config}; give one`);
      }
      const parentConfig = command.parent?.opts().config as string | undefined;
      const config = await loadCliConfig({ config: file ?? flags.config ?? parentConfig }, process.env, process.cwd());
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
        // Whether a token is set, never its value: this output ends up in CI logs and bug reports.
        const { token, ...http } = config.http;
        const summary = { valid: true, file: config.file, store: redactStoreUrl(config.store), http, loops };
        // adminToken: where the instance's token would come from (config, env, local, none).
        const { tokenSource } = await import('../admin-token.ts');
        const adminToken = tokenSource(config, process.env);
        output.out(JSON.stringify({ ...summary, http: { ...http, tokenSet: token !== '', adminToken } }, null, 2));
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
