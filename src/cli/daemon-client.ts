import { CliExit, type ConfigFlags, configPath, EXIT } from './context.ts';
import { type DaemonPaths, type DaemonStatus, daemonPaths, readDaemon } from './daemon-files.ts';

/** Flags of every command that finds a daemon through its files. */
export interface DaemonFlags extends ConfigFlags {
  pidFile?: string;
  logFile?: string;
}

/** How long a CLI request to the daemon may take: it answers from memory or one store read. */
const REQUEST_TIMEOUT_MS = 10_000;

/** The daemon files of the config named by the flags (the config is not loaded: it may be broken). */
export function locatePaths(flags: DaemonFlags, env: NodeJS.ProcessEnv, cwd: string): DaemonPaths {
  return daemonPaths(configPath(flags, env, cwd), flags, cwd);
}

export function locateDaemon(flags: DaemonFlags, env: NodeJS.ProcessEnv, cwd: string): DaemonStatus {
  return readDaemon(locatePaths(flags, env, cwd));
}

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
