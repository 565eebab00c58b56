import { CliExit, type ConfigFlags, configPath, EXIT } from './context.ts';
import { type DaemonPaths, type DaemonStatus, daemonPaths, readDaemon } from './daemon-files.ts';
import { type InstanceFile, listInstances } from './instance-files.ts';

/** Flags of every command that finds a daemon through its files. */
export interface DaemonFlags extends ConfigFlags {
  pidFile?: string;
  logFile?: string;
  /** Which of several running instances: its pid or (a prefix of) its instance id. */
  instance?: string;
}

/** How long a CLI request to the daemon may take: it answers from memory or one store read. */
const REQUEST_TIMEOUT_MS = 10_000;

/** The daemon files of the config named by the flags (the config is not loaded: it may be broken). */
export function locatePaths(flags: DaemonFlags, env: NodeJS.ProcessEnv, cwd: string): DaemonPaths {
  return daemonPaths(configPath(flags, env, cwd), flags, cwd);
}

/**
 * Every running instance of the config named by the flags, as daemon
 * statuses: the live runtime files under `.autoloop/instances/` (foreground
 * and background alike; stale ones are removed on the way), plus a daemon
 * whose pidfile exists but has not written its files yet. With no live
 * instance, one status that says why (stopped, or a stale pidfile). An
 * explicit `--pid-file` names one daemon and only that one is read.
 */
export function locateInstances(flags: DaemonFlags, env: NodeJS.ProcessEnv, cwd: string): DaemonStatus[] {
  const configFile = configPath(flags, env, cwd);
  const paths = locatePaths(flags, env, cwd);
  const daemon = readDaemon(paths);
  if (flags.pidFile) return [daemon];
  // A foreground instance without a pidfile keeps the default paths: removing
  // daemon files checks that the pidfile names the pid, so nothing else is touched.
  const live: DaemonStatus[] = listInstances(configFile).map((file) => ({
    kind: 'running',
    paths: file.pidFile ? daemonPaths(configFile, { pidFile: file.pidFile }, cwd) : paths,
    pid: file.pid,
    state: file,
  }));
  if (daemon.kind === 'running' && !live.some((s) => s.kind === 'running' && s.pid === daemon.pid)) live.push(daemon);
  return live.length > 0 ? live : [daemon];
}

/**
 * The one instance a command talks to: the only one, or the one `--instance`
 * names (by pid or instance id). Several without `--instance` is a usage
 * error listing them, so a command never acts on an arbitrary one.
 */
export function locateDaemon(flags: DaemonFlags, env: NodeJS.ProcessEnv, cwd: string, command = ''): DaemonStatus {
  return pickInstance(locateInstances(flags, env, cwd), flags.instance, command);
}

export function pickInstance(all: DaemonStatus[], wanted: string | undefined, command: string): DaemonStatus {
  const running = all.filter((s) => s.kind === 'running');
  if (wanted !== undefined) {
    const match = running.filter((s) => matchesInstance(s, wanted));
    if (match.length === 1) return match[0] as DaemonStatus;
    const what = match.length === 0 ? 'no running instance matches' : `${match.length} instances match`;
    throw new CliExit(EXIT.usage, `--instance: ${what} "${wanted}"; running: ${listText(running)}`);
  }
  if (running.length > 1) {
    const prefix = command === '' ? '' : `${command}: `;
    throw new CliExit(
      EXIT.usage,
      `${prefix}${running.length} instances of this config run (${listText(running)}); pick one with --instance <pid>`,
    );
  }
  return all[0] as DaemonStatus;
}

/**
 * The instance a read command asks: the one `--instance` names, else the
 * oldest running one (they share one store, so any of them answers for all).
 */
export function anyInstance(all: DaemonStatus[], wanted: string | undefined, command: string): DaemonStatus {
  if (wanted !== undefined) return pickInstance(all, wanted, command);
  return all.find((s) => s.kind === 'running') ?? (all[0] as DaemonStatus);
}

/** Whether `--instance <wanted>` names this instance: its pid, or its instance id or a prefix of it. */
export function matchesInstance(status: DaemonStatus, wanted: string): boolean {
  if (status.kind !== 'running') return false;
  if (String(status.pid) === wanted) return true;
  const id = (status.state as Partial<InstanceFile> | null)?.instance;
  return typeof id === 'string' && wanted !== '' && id.startsWith(wanted);
}

function listText(running: DaemonStatus[]): string {
  if (running.length === 0) return 'none';
  return running
    .map((s) => (s.kind === 'running' ? `pid ${s.pid}${s.state?.url ? ` at ${s.state.url}` : ''}` : ''))
    .join(', ');
}

/** The admin token an instance's runtime file holds, when this user can read it. */
export function instanceToken(status: DaemonStatus): string | undefined {
  if (status.kind !== 'running') return undefined;
  const token = (status.state as Partial<InstanceFile> | null)?.token;
  return typeof token === 'string' && token !== '' ? token : undefined;
}

/** `--instance <pid|id>`: the option text every command that talks to an instance shares. */
export const INSTANCE_OPTION = [
  '--instance <pid|id>',
  'which instance when several run from this config: its pid or instance id (see `autoloop status`)',
] as const;

/** "autoloop is not running (...)" with the reason the files give. */
export function notRunning(status: DaemonStatus): string {
  if (status.kind === 'stale') {
    return `autoloop is not running (stale pidfile ${status.paths.pidFile}: pid ${status.pid} is gone)`;
  }
  if (status.kind === 'running') return `autoloop (pid ${status.pid}) has not written its state file yet`;
  return `autoloop is not running (no pidfile at ${status.paths.pidFile})`;
}

/** The running daemon's base URL, or a CliExit(1) saying why there is none. */
export function requireDaemonUrl(status: DaemonStatus): string {
  if (status.kind === 'running' && status.state?.url) return status.state.url;
  if (status.kind === 'running' && status.state) {
    throw new CliExit(EXIT.failed, `autoloop (pid ${status.pid}) runs without HTTP; nothing to ask`);
  }
  throw new CliExit(EXIT.failed, notRunning(status));
}

/** A base URL a client can connect to: a wildcard bind address is reached on loopback. */
export function clientUrl(url: string): string {
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}

export interface DaemonResponse<T> {
  status: number;
  body: T;
}

/**
 * One request to the daemon's HTTP surface, JSON in and out. A daemon that
 * does not answer is a CliExit(1) naming the URL; an HTTP error status is
 * returned for the caller to explain. The token goes only in the header.
 */
export async function daemonRequest<T>(
  baseUrl: string,
  path: string,
  options: { method?: 'GET' | 'POST'; token?: string } = {},
): Promise<DaemonResponse<T>> {
  const url = `${baseUrl}${path}`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? 'GET',
      headers,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new CliExit(EXIT.failed, `nothing answers at ${url}: ${fetchProblem(error)}`);
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (a proxy's error page): the caller shows the status.
  }
  return { status: response.status, body: body as T };
}

function fetchProblem(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((error as Error).name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  return (error as Error).message ?? String(error);
}

/** The `error` field of a JSON error body, or the status line. */
export function errorText(response: DaemonResponse<unknown>): string {
  const body = response.body as { error?: unknown } | string;
  if (typeof body === 'object' && body !== null && typeof body.error === 'string') {
    return `HTTP ${response.status}: ${body.error}`;
  }
  return `HTTP ${response.status}`;
}
