import { formatDuration } from '../time/duration.ts';

/** Everything a unit needs; paths absolute. */
export interface UnitSpec {
  name: string;
  scope: 'system' | 'user';
  /** Absolute node binary and CLI entry script. */
  node: string;
  bin: string;
  config: string;
  workingDirectory: string;
  /** `User=` of a system unit (user units run as their user). */
  runAs: string | null;
  /** The config's shutdown.grace: the stop timeout is this plus {@link STOP_MARGIN_S}. */
  graceMs: number;
  memoryMax: string | null;
  cpuQuota: string | null;
  /** Where the docs are, for `Documentation=`. */
  docs: string;
  writtenAt: string;
}

/** Seconds systemd waits beyond the grace period before SIGKILL: room to abort, release and flush. */
export const STOP_MARGIN_S = 10;
export const RESTART_SEC = 5;

/**
 * A systemd service unit that runs `autoloop start --foreground` on one
 * config. Only the main process gets SIGTERM (KillMode=mixed): autoloop
 * drains for shutdown.grace and stops its command acts itself; systemd
 * SIGKILLs what is left after TimeoutStopSec = grace + 10 s.
 *
 * @example
 * systemdUnit({ name: 'autoloop', scope: 'system', node: '/usr/bin/node', ... })
 */
export function systemdUnit(spec: UnitSpec): string {
  const stopSec = Math.ceil(spec.graceMs / 1000) + STOP_MARGIN_S;
  const defaulted = [
    `RestartSec=${RESTART_SEC}s`,
    spec.memoryMax === null ? 'no MemoryMax (--memory-max sets one)' : null,
    spec.cpuQuota === null ? 'no CPUQuota (--cpu-quota sets one)' : null,
  ].filter((line) => line !== null);
  const envFile = spec.scope === 'system' ? `/etc/autoloop/${spec.name}.env` : `%h/.config/autoloop/${spec.name}.env`;
  const exec = [spec.node, spec.bin, 'start', '--foreground', '--config', spec.config].map(quoteArg).join(' ');
  return `# ${spec.name}.service: autoloop on ${escapeSpecifiers(spec.config)}
# Written by \`autoloop unit install\` at ${spec.writtenAt}. Run it again after
# moving the project, the config or node, then \`systemctl${spec.scope === 'user' ? ' --user' : ''} daemon-reload\`.
# From the config: TimeoutStopSec=${stopSec}s (shutdown.grace ${formatDuration(spec.graceMs)} + ${STOP_MARGIN_S}s).
# Defaulted: ${defaulted.join('; ')}.

[Unit]
Description=autoloop (${escapeSpecifiers(spec.config)})
Documentation=${escapeSpecifiers(spec.docs)}
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
${spec.runAs === null ? '' : `User=${spec.runAs}\n`}WorkingDirectory=${escapeSpecifiers(spec.workingDirectory)}
ExecStart=${exec}
Environment=NODE_ENV=production
# Secrets (AUTOLOOP_TOKEN=...) go here, mode 0600, not in this unit. Optional.
EnvironmentFile=-${envFile}

# The first SIGTERM drains in-flight items for up to shutdown.grace. Only the
# main process gets it (mixed): autoloop stops its own command acts.
KillSignal=SIGTERM
KillMode=mixed
TimeoutStopSec=${stopSec}s
Restart=always
RestartSec=${RESTART_SEC}s

# Resource limits (cgroup v2).
${spec.memoryMax === null ? '# MemoryMax=512M' : `MemoryMax=${spec.memoryMax}`}
${spec.cpuQuota === null ? '# CPUQuota=80%' : `CPUQuota=${spec.cpuQuota}`}

# Output goes to the journal: journalctl${spec.scope === 'user' ? ' --user' : ''} -u ${spec.name} -f

[Install]
WantedBy=${spec.scope === 'system' ? 'multi-user.target' : 'default.target'}
`;
}

/** `%` starts a specifier in unit files. */
function escapeSpecifiers(text: string): string {
  return text.replaceAll('%', '%%');
}

/** An ExecStart argument: quoted when it holds spaces, quotes or backslashes. */
function quoteArg(arg: string): string {
  const escaped = escapeSpecifiers(arg);
  return /[\s"'\\]/.test(escaped) ? `"${escaped.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"` : escaped;
}
