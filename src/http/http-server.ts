import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AutoloopError } from '../core/errors.ts';
import { formatHostPort } from './bind-policy.ts';
import type { ProbeHandler } from './probe-handler.ts';

/** Anything with a fetch handler, e.g. the Hono app from `createHttpApp`. */
export interface HttpApp {
  fetch(request: Request): Response | Promise<Response>;
}

export interface HttpServerOptions {
  /** Interface to bind, e.g. `127.0.0.1` (local only) or `0.0.0.0`. */
  host: string;
  /** Port to bind; 0 picks a free one (see the address `start` resolves to). */
  port: number;
  app: HttpApp;
  /** Let the adapter replace the global Request/Response with its faster ones (a process autoloop owns only). Default false. */
  replaceFetchGlobals?: boolean;
  /** Answers what it can before the app (the probe routes, see probe-handler.ts); the rest goes to the app. */
  probes?: ProbeHandler;
}

/** Where the server is listening, with the port actually bound. */
export interface HttpAddress {
  host: string;
  port: number;
  /** Base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
}

export interface HttpServer {
  /**
   * Bind and listen. Resolves once listening, with the actual port. Rejects
   * with an `HttpListenError` when the address cannot be bound. Calling it
   * again returns the same promise.
   */
  start(): Promise<HttpAddress>;
  /**
   * Stop accepting connections and close every open one, keep-alive and
   * streaming alike (an SSE client would otherwise hold shutdown forever).
   * Resolves when the server is closed. Idempotent; safe before `start`.
   */
  stop(): Promise<void>;
}

/** The HTTP surface could not bind its address. `code` is Node's (EADDRINUSE, ...). */
export class HttpListenError extends AutoloopError {
  override name = 'HttpListenError';
  constructor(
    readonly host: string,
    readonly port: number,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(`http: cannot listen on ${formatHostPort(host, port)}: ${listenProblem(code, cause)}`, { cause });
  }
}

/**
 * Serve `app` over HTTP/1.1 on `host:port`: node's own server, `probes`
 * first, then the app through @hono/node-server's request listener, loaded
 * with the first request that reaches the app (it loads node's fetch
 * classes: a process only probed never pays for them).
 *
 * Any address may be bound: what each route needs there (a token, the Host
 * check) is the app's business (see bind-policy.ts).
 *
 * @example
 * const server = createHttpServer({ host: '127.0.0.1', port: 0, app: createHttpApp(source) });
 * const { url } = await server.start();
 * // ...
 * await server.stop();
 */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { host, port, app } = options;
  let server: Server | undefined;
  let started: Promise<HttpAddress> | undefined;
  let stopped: Promise<void> | undefined;

  let toApp: Promise<RequestListener> | undefined;
  const appListener = async (): Promise<RequestListener> => {
    const { getRequestListener } = await import('@hono/node-server');
    return getRequestListener((request: Request) => app.fetch(request), {
      hostname: host,
      // The adapter's default swaps the process-wide Request and Response
      // globals for its own; a runtime embedded in a user's process must
      // not change what their code sees, so only a process autoloop owns does.
      overrideGlobalObjects: options.replaceFetchGlobals === true,
    });
  };
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    if (options.probes?.(request, response)) return;
    toApp ??= appListener();
    toApp
      .then(
        (listener) => listener(request, response),
        (error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          response.end(
            `http: the HTTP adapter did not load: ${error instanceof Error ? error.message : String(error)}\n`,
          );
        },
      )
      .catch(() => response.destroy());
  };

  const listen = (): Promise<HttpAddress> =>
    new Promise((resolve, reject) => {
      const s = createServer(handle);
      server = s;
      const onError = (error: NodeJS.ErrnoException) => {
        s.off('listening', onListening);
        reject(new HttpListenError(host, port, error.code, error));
      };
      const onListening = () => {
        s.off('error', onError);
        const bound = (s.address() as AddressInfo).port;
        resolve({ host, port: bound, url: `http://${formatHostPort(host, bound)}` });
      };
      s.once('error', onError);
      s.once('listening', onListening);
      try {
        s.listen(port, host);
      } catch (error) {
        // A bad port (out of range, not an integer) throws at once instead of emitting.
        s.off('error', onError);
        s.off('listening', onListening);
        reject(new HttpListenError(host, port, (error as NodeJS.ErrnoException).code, error));
      }
    });

  const close = (): Promise<void> =>
    new Promise((resolve) => {
      const s = server;
      if (!s?.listening) {
        resolve();
        return;
      }
      s.close(() => resolve());
      // close() alone waits for every open connection to end by itself.
      s.closeAllConnections();
    });

  return {
    start() {
      if (stopped) return Promise.reject(new AutoloopError('http: cannot start a server that was stopped'));
      started ??= listen();
      return started;
    },
    stop() {
      // Let a start still binding settle first, so the socket it opens is closed too.
      stopped ??= (started ?? Promise.resolve()).then(close, close);
      return stopped;
    },
  };
}

function listenProblem(code: string | undefined, cause: unknown): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'address already in use (set http.port or --port)';
    case 'EACCES':
      return 'permission denied (ports below 1024 need privileges; set http.port or --port)';
    case 'EADDRNOTAVAIL':
      return 'address not available on this machine (set http.host)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name does not resolve (set http.host)';
    default:
      return cause instanceof Error ? cause.message : String(cause);
  }
}
