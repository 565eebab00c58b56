import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Responder } from './respond.ts';

/**
 * Middleware for the admin routes: `Authorization: Bearer <http.token>`.
 *
 * - no token configured: 403, the routes are off;
 * - header missing, not Bearer, or the wrong token: 401 with `WWW-Authenticate: Bearer`.
 *
 * Both sides are hashed with SHA-256 before `timingSafeEqual`, so the compare
 * takes the same time whatever the presented value's length or content.
 * Responses never contain the presented or the expected token.
 */
export function requireAdminToken(token: string, out: Responder): MiddlewareHandler {
  const expected = token === '' ? undefined : sha256(token);
  return async (c, next) => {
    if (!expected) return out.json(c, 403, { error: 'admin endpoints are disabled: set http.token' });
    const presented = bearerToken(c.req.header('authorization'));
    if (presented === undefined) {
      return out.json(
        c,
        401,
        { error: 'unauthorized: send the admin token as "Authorization: Bearer <http.token>"' },
        { 'www-authenticate': 'Bearer realm="autoloop"' },
      );
    }
    if (!timingSafeEqual(sha256(presented), expected)) {
      return out.json(
        c,
        401,
        { error: 'unauthorized: the bearer token does not match http.token' },
        { 'www-authenticate': 'Bearer realm="autoloop", error="invalid_token"' },
      );
    }
    await next();
  };
}

/** The credentials of a `Bearer` Authorization header (scheme case-insensitive), else undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? '');
  return match?.[1];
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
