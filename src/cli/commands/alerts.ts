import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { alertFeatures, alertRules } from '../../observability/alerts/default-rules.ts';
import { toPrometheusRules } from '../../observability/alerts/prometheus-rules.ts';
import { systemClock } from '../../time/system-clock.ts';
import { type ConfigFlags, loadCliConfig } from '../context.ts';
import type { Output } from '../output.ts';

export function registerAlerts(program: Command, output: Output): void {
  const alerts = program.command('alerts').description('alert rules: the ones this config evaluates in-process');
  alerts
    .command('export')
    .description(
      "write the config's alert rules (the built-in ones for the features your loops use, and your own) as a Prometheus rules file",
    )
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(async (flags: ConfigFlags & { output?: string }) => {
      const config = await loadCliConfig(flags, process.env, process.cwd());
      const features = alertFeatures(config.loops, config.dependencies, systemClock.now(), config.services);
      const yaml = toPrometheusRules(alertRules(config.alerts, features), { intervalMs: config.alerts.intervalMs });
      if (flags.output) {
        writeFileSync(flags.output, yaml);
        output.err(`wrote ${flags.output}`);
      } else output.out(yaml.trimEnd());
    });
}
