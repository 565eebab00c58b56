import type { Context, MiddlewareHandler } from 'hono';

/**
 * Middleware refusing request bodies over `maxBytes` (413 by `tooLarge`),
 * on every route, before any handler reads a byte.
 *
 * Not hono/body-limit: for a body without Content-Length it rebuilds the
 * request with the global `Request` constructor, which throws on the
 * lighter Request that @hono/node-server hands us when it does not replace
 * the process's globals (see http-server.ts) — a 500 for every chunked body.
 *
 * With Content-Length, the header decides (Node's parser holds the client to
 * it). A chunked body is read up to the limit and the request rebuilt with
 * it, so handlers can still read it once.
 */
export function limitBody(maxBytes: number, tooLarge: (c: Context) => Response): MiddlewareHandler {
  return async (c, next) => {
    const raw = c.req.raw;
    const chunked = raw.headers.has('transfer-encoding');
    const length = raw.headers.get('content-length');
    if (length !== null && !chunked) {
      if (Number(length) > maxBytes) return tooLarge(c);
      return next();
    }
    // Neither header: HTTP/1.1 says there is no body.
    if (!chunked || !raw.body) return next();
    const body = await readUpTo(raw.body, maxBytes);
    if (body === undefined) return tooLarge(c);
    const bodyless = raw.method === 'GET' || raw.method === 'HEAD';
    c.req.raw = new Request(raw.url, {
      method: raw.method,
      headers: raw.headers,
      signal: raw.signal,
      ...(bodyless ? {} : { body }),
    });
    return next();
  };
}

/** The whole stream, or undefined (and the stream cancelled) once it passes `maxBytes`. */
async function readUpTo(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}
