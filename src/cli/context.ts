import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../config/config-error.ts';
import type { ResolvedConfig } from '../config/load-config.ts';
import type { Output } from './output.ts';

/** The CLI's entry script: what a daemon, a systemd unit or a container runs with `process.execPath`. */
export const CLI_BIN = fileURLToPath(new URL('../../bin/autoloop.js', import.meta.url));

/** Exit codes, documented in README and `--help`. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Raised by commands to end with a message and an exit code, never a stack trace. */
export class CliExit extends Error {
  override name = 'CliExit';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export interface ConfigFlags {
  config?: string;
  store?: string;
  host?: string;
  port?: string;
}

/** The config file a command uses: --config, else $AUTOLOOP_CONFIG, else ./autoloop.yaml. */
export function configPath(flags: ConfigFlags, env: NodeJS.ProcessEnv, cwd: string): string {
  return resolve(cwd, flags.config ?? env.AUTOLOOP_CONFIG ?? 'autoloop.yaml');
}

/** Loads and validates the config, turning every problem into a CliExit(2) with the validator's message. */
export async function loadCliConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv, cwd: string): Promise<ResolvedConfig> {
  const file = configPath(flags, env, cwd);
  const port = flags.port === undefined ? undefined : parsePort(flags.port);
  // Loaded here, not at the top: commands that never read the config (stop, logs) start faster.
  const { loadConfig } = await import('../config/load-config.ts');
  try {
    return await loadConfig(file, { env, overrides: { store: flags.store, host: flags.host, port } });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliExit(EXIT.usage, error.message);
    throw error;
  }
}

/**
 * The config of a read command (`status`, `tasks`, `cycles`): the config
 * file, or, given `--store` and no config file (no `-c`, no
 * `$AUTOLOOP_CONFIG`, no ./autoloop.yaml), that store alone with no loops
 * known (`storeOnly`): loops are then what the store has records of.
 */
export async function loadReadConfig(
  flags: ConfigFlags,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ config: ResolvedConfig; storeOnly: boolean }> {
  const file = configPath(flags, env, cwd);
  const storeOnly =
    flags.store !== undefined && flags.config === undefined && env.AUTOLOOP_CONFIG === undefined && !existsSync(file);
  if (!storeOnly) return { config: await loadCliConfig(flags, env, cwd), storeOnly };
  const { parseConfigText } = await import('../config/load-config.ts');
  try {
    const config = await parseConfigText('loops: {}\n', { file, env, overrides: { store: flags.store } });
    return { config, storeOnly };
  } catch (error) {
    if (error instanceof ConfigError) throw new CliExit(EXIT.usage, error.message);
    throw error;
  }
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    throw new CliExit(
      EXIT.usage,
      `--port: expected a port number from 0 to 65535 (0 picks a free port), got "${value}"`,
    );
  }
  return port;
}

export function write(output: Output, json: boolean, data: unknown, text: () => string): void {
  output.out(json ? JSON.stringify(data, null, 2) : text());
}

/** Exits 2 naming the known loops when `name` is not one of the config's loops. */
export function requireLoop(config: ResolvedConfig, name: string, command: string): void {
  if (config.loops.some((l) => l.name === name)) return;
  const known = config.loops.map((l) => l.name).join(', ') || '(none)';
  throw new CliExit(EXIT.usage, `${command}: unknown loop "${name}"; loops in ${config.file}: ${known}`);
}
