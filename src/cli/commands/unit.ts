import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { systemClock } from '../../time/system-clock.ts';
import { CLI_BIN, CliExit, type ConfigFlags, EXIT, loadCliConfig } from '../context.ts';
import { kubernetesManifest } from '../kubernetes-manifest.ts';
import type { Output } from '../output.ts';
import { systemdUnit } from '../systemd-unit.ts';

interface InstallFlags extends ConfigFlags {
  user?: boolean;
  dryRun?: boolean;
  output?: string;
  name: string;
  runAs?: string;
  memoryMax?: string;
  cpuQuota?: string;
}

const DOCS = fileURLToPath(new URL('../../../docs/operations.md', import.meta.url));

/**
 * `autoloop unit install`: a systemd unit for the daemon. It was `service
 * install` until `services:` made "service" mean a supervised process; the
 * old spelling still works for one release, hidden under the `service`
 * command (service.ts), with a note on stderr.
 */
export function registerUnit(program: Command, output: Output): void {
  const unit = program.command('unit').description('run autoloop itself as a systemd unit, or on Kubernetes');
  installCommand(unit.command('install'), output);
  kubernetesCommand(unit.command('kubernetes'), output);
}

interface KubernetesFlags extends ConfigFlags {
  image: string;
  name: string;
  output?: string;
}

/** `autoloop unit kubernetes`: a manifest for this config (ConfigMap, Deployment, Service; a claim for SQLite). */
function kubernetesCommand(command: Command, output: Output): void {
  command
    .description('print a Kubernetes manifest running this config (or write it with -o)')
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--image <image>', "container image (the repository's Dockerfile)", 'autoloop:latest')
    .option('--name <name>', 'name of the Deployment, Service and ConfigMap', 'autoloop')
    .option('-o, --output <file>', 'write the manifest here instead of stdout')
    .addHelpText(
      'after',
      `
The manifest: the config file in a ConfigMap (mounted read-only), a Deployment
with one replica, probes on /health/live and /health/ready, the grace period
shutdown.grace + 15s, limits from \`resources:\` (memory 512M -> 512Mi, cpu 80% ->
800m; default 512Mi and one core), the admin token from an optional Secret
named like the Deployment; a Service on http.port. An SQLite store gets a
ReadWriteOnce claim mounted at /var/lib/autoloop (and --store pointing there).`,
    )
    .action(async (flags: KubernetesFlags) => {
      if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(flags.name) || flags.name.length > 50) {
        throw new CliExit(
          EXIT.usage,
          `--name: expected a Kubernetes name like "autoloop" (a-z, 0-9, -), got "${flags.name}"`,
        );
      }
      const config = await loadCliConfig(flags, process.env, process.cwd());
      const configText = readFileSync(config.file, 'utf8');
      if (config.http.token !== '' && configText.includes(config.http.token)) {
        // The ConfigMap would carry the admin token in clear: never print it.
        throw new CliExit(
          EXIT.usage,
          `unit kubernetes: ${config.file} holds the admin token in clear (http.token); write token: "\${AUTOLOOP_TOKEN:-}" there and keep the token in the Secret the manifest reads (kubectl create secret generic ${flags.name} --from-literal=token=...)`,
        );
      }
      const manifest = kubernetesManifest({
        name: flags.name,
        image: flags.image,
        configText,
        port: config.http.port === 0 ? 8080 : config.http.port,
        graceMs: config.shutdown.graceMs,
        memoryMax: config.resources.memoryMax,
        cpuQuota: config.resources.cpuQuota,
        sqlite: config.store.startsWith('sqlite:'),
      });
      if (!flags.output) {
        output.out(manifest.trimEnd());
        return;
      }
      const path = resolve(process.cwd(), flags.output);
      try {
        writeFileSync(path, manifest);
      } catch (error) {
        throw new CliExit(EXIT.failed, `unit kubernetes: cannot write ${path}: ${(error as Error).message}`);
      }
      output.out(`wrote ${path}\nnext:\n  kubectl apply -f ${path}`);
    });
}

/** The `install` subcommand on `command` (`unit install`, and the deprecated `service install`). */
export function installCommand(command: Command, output: Output, beforeRun?: () => void): void {
  command
    .description(
      'write a systemd unit running `autoloop start --foreground` on this config, and print how to enable it',
    )
    .option('-c, --config <file>', 'config file (default: $AUTOLOOP_CONFIG or ./autoloop.yaml)')
    .option('--user', 'a user unit (~/.config/systemd/user) instead of a system unit (/etc/systemd/system)')
    .option('--dry-run', 'print the unit on stdout; write nothing')
    .option('-o, --output <file>', 'write the unit here instead')
    .option('--name <name>', 'unit name', 'autoloop')
    .option('--run-as <user>', 'User= of a system unit (default: $SUDO_USER, else you)')
    .option('--memory-max <size>', "MemoryMax= (e.g. 512M, 2G); default the config's resources.memory, else none")
    .option(
      '--cpu-quota <percent>',
      "CPUQuota= (e.g. 80%, 200% for two cores); default the config's resources.cpu, else none",
    )
    .addHelpText(
      'after',
      `
The unit: ExecStart with absolute node and autoloop paths, WorkingDirectory
(the config's directory), Restart=always, RestartSec=5s, KillSignal=SIGTERM,
KillMode=mixed, TimeoutStopSec = shutdown.grace + 10s, optional resource
limits. Writing to /etc/systemd/system needs root (sudo, or --user, or -o).`,
    )
    .action(async (flags: InstallFlags) => {
      beforeRun?.();
      process.exitCode = await install(flags, output);
    });
}

async function install(flags: InstallFlags, output: Output): Promise<number> {
  if (!/^[\w@.-]+$/.test(flags.name)) {
    throw new CliExit(
      EXIT.usage,
      `--name: expected a unit name like "autoloop" or "autoloop-prices", got "${flags.name}"`,
    );
  }
  const memoryMax = checked('--memory-max', flags.memoryMax, /^(\d+(\.\d+)?[KMGT]?|\d+%|infinity)$/, '512M, 2G or 50%');
  const cpuQuota = checked('--cpu-quota', flags.cpuQuota, /^\d+%$/, '80% (or 200% for two cores)');
  const config = await loadCliConfig(flags, process.env, process.cwd());
  const scope = flags.user ? 'user' : 'system';
  const unit = systemdUnit({
    name: flags.name,
    scope,
    node: process.execPath,
    bin: CLI_BIN,
    config: config.file,
    workingDirectory: config.dir,
    runAs: scope === 'system' ? (flags.runAs ?? process.env.SUDO_USER ?? userInfo().username) : null,
    graceMs: config.shutdown.graceMs,
    memoryMax: memoryMax ?? config.resources.memoryMax,
    cpuQuota: cpuQuota ?? config.resources.cpuQuota,
    docs: `file://${DOCS}`,
    writtenAt: new Date(systemClock.now()).toISOString(),
  });
  if (flags.dryRun) {
    output.out(unit.trimEnd());
    output.err(`# (dry run: nothing written; ${flags.name}.service would go to ${unitPath(flags)})`);
    return EXIT.ok;
  }
  const path = unitPath(flags);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, unit);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'EACCES' || code === 'EPERM' ? ' (run with sudo, or use --user, or -o FILE)' : '';
    throw new CliExit(EXIT.failed, `unit install: cannot write ${path}: ${(error as Error).message}${hint}`);
  }
  output.out(`wrote ${path}`);
  output.out(nextSteps(flags, path).join('\n'));
  return EXIT.ok;
}

function unitPath(flags: InstallFlags): string {
  if (flags.output) return resolve(process.cwd(), flags.output);
  if (!flags.user) return `/etc/systemd/system/${flags.name}.service`;
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'systemd', 'user', `${flags.name}.service`);
}

function nextSteps(flags: InstallFlags, path: string): string[] {
  const ctl = flags.user ? 'systemctl --user' : 'sudo systemctl';
  const steps = ['next:'];
  if (flags.output) {
    const dir = flags.user ? '~/.config/systemd/user/' : '/etc/systemd/system/';
    steps.push(`  ${flags.user ? '' : 'sudo '}cp ${path} ${dir}`);
  }
  steps.push(`  ${ctl} daemon-reload`, `  ${ctl} enable --now ${flags.name}`);
  steps.push(
    `  ${ctl.replace('sudo ', '')} status ${flags.name}; journalctl${flags.user ? ' --user' : ''} -u ${flags.name} -f`,
  );
  if (flags.user) steps.push('  loginctl enable-linger "$USER"   # keep it running after you log out');
  return steps;
}

function checked(flag: string, value: string | undefined, pattern: RegExp, example: string): string | null {
  if (value === undefined) return null;
  if (!pattern.test(value)) throw new CliExit(EXIT.usage, `${flag}: expected a value like ${example}, got "${value}"`);
  return value;
}
