import { AutoloopError } from '../core/errors.ts';

/**
 * Where an HTTP app may listen. The admin endpoints are guarded by a bearer
 * token; without one they refuse every request, but a server reachable from
 * the network with no token at all is a configuration mistake we stop at
 * start rather than discover later.
 */

/**
 * Attached by `createHttpApp` to the app it returns, so `createHttpServer`
 * can apply the bind policy without being handed the token itself.
 */
export const HTTP_APP_SECURITY: unique symbol = Symbol('autoloop.http.security');

/** What an app declares about its admin guard (never the token itself). */
export interface HttpAppSecurity {
  readonly adminTokenSet: boolean;
}

/** The server would listen beyond this machine with no admin token. */
export class UnsafeBindError extends AutoloopError {
  override name = 'UnsafeBindError';
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(
      `http: refusing to listen on ${formatHostPort(host, port)} without http.token ` +
        '(admin endpoints would be open to the network); set http.token or bind 127.0.0.1',
    );
  }
}

/**
 * True for names and addresses only this machine can reach: `localhost`,
 * 127.0.0.0/8 (also IPv4-mapped, `::ffff:127.0.0.1`) and `::1`, bracketed or not.
 *
 * @example
 * isLoopbackHost('127.0.0.2'); // true
 * isLoopbackHost('0.0.0.0');   // false: every interface
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === 'localhost.') return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(v4);
  if (!m) return false;
  return m.slice(1).every((octet) => Number(octet) <= 255);
}

/** Throws an {@link UnsafeBindError} for a non-loopback `host` when no admin token is set. */
export function assertSafeBind(host: string, port: number, adminTokenSet: boolean): void {
  if (!adminTokenSet && !isLoopbackHost(host)) throw new UnsafeBindError(host, port);
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
