import { randomBytes } from 'node:crypto';
import type { ResolvedConfig } from '../config/load-config.ts';
import { isLoopbackHost } from '../http/bind-policy.ts';
import { CliExit, EXIT } from './context.ts';

/** Same floor as the config's `http.token`. */
const MIN_TOKEN_LENGTH = 16;

/**
 * Where an instance's admin token came from:
 * - `config`  `http.token` in the config file;
 * - `env`     `$AUTOLOOP_TOKEN` in the instance's environment, the config naming no token;
 * - `local`   neither, on a loopback bind: a random token made at start and kept
 *             only in the instance's runtime file (mode 0600), so the same user's
 *             CLI can pause and resume without any setup;
 * - `none`    neither, on a network bind: the admin routes stay off (403).
 */
export type TokenSource = 'config' | 'env' | 'local' | 'none';

/**
 * The admin token a starting instance accepts. A `$AUTOLOOP_TOKEN` shorter
 * than the config's minimum is a usage error (exit 2), not silently ignored.
 */
export function daemonToken(config: ResolvedConfig, env: NodeJS.ProcessEnv): { token: string; source: TokenSource } {
  const source = tokenSource(config, env);
  if (source === 'config') return { token: config.http.token, source };
  if (source === 'env') return { token: env.AUTOLOOP_TOKEN as string, source };
  return { token: source === 'local' ? localToken() : '', source };
}

/** Where {@link daemonToken}'s token would come from, without making one (for `validate`). */
export function tokenSource(config: ResolvedConfig, env: NodeJS.ProcessEnv): TokenSource {
  if (config.http.token !== '') return 'config';
  const fromEnv = env.AUTOLOOP_TOKEN ?? '';
  if (fromEnv !== '') {
    if (fromEnv.length < MIN_TOKEN_LENGTH) {
      throw new CliExit(
        EXIT.usage,
        `$AUTOLOOP_TOKEN: expected a token of at least ${MIN_TOKEN_LENGTH} characters, got a token of ${fromEnv.length} characters (not shown); unset it to start without one`,
      );
    }
    return 'env';
  }
  return isLoopbackHost(config.http.host) ? 'local' : 'none';
}

/**
 * A secret, not an id: from the OS's CSPRNG, not the Entropy port (whose
 * ids are deliberately not secrets and, seeded, repeat across runs).
 */
function localToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * The token an admin command sends: the instance's own (from its runtime
 * file, readable by the same user), else the config's `http.token`, else
 * `$AUTOLOOP_TOKEN`. '' when none is known.
 */
export function clientToken(instanceToken: string | undefined, config: ResolvedConfig, env: NodeJS.ProcessEnv): string {
  return instanceToken || config.http.token || env.AUTOLOOP_TOKEN || '';
}

/**
 * {@link clientToken}, or a CliExit(2) saying how to get one: `command`
 * names the command in the message. The token itself is never in a message.
 */
export function requireClientToken(
  instanceToken: string | undefined,
  config: ResolvedConfig,
  env: NodeJS.ProcessEnv,
  command: string,
): string {
  const token = clientToken(instanceToken, config, env);
  if (token !== '') return token;
  throw new CliExit(
    EXIT.usage,
    `${command}: no admin token: the instance's runtime file has none (it binds a network address without a token, or another user started it); set AUTOLOOP_TOKEN in its environment or http.token in ${config.file}, restart it, and run this as the same user or with AUTOLOOP_TOKEN set here`,
  );
}
