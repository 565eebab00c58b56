/**
 * A fault-injecting TCP proxy on loopback, for tests that put a real network
 * fault between a client (ioredis) and its server (redis-server):
 *
 * - added latency, per direction, settable while connections are open: every
 *   chunk is held back by the latency current when it arrived, and chunks
 *   leave in the order they came (lowering the latency never lets a later
 *   chunk overtake an earlier one);
 * - `resetAll()`: every open connection is torn down with a TCP RST on both
 *   sides (`socket.resetAndDestroy()`), as when a NAT, load balancer or
 *   firewall drops the flow: the client reads ECONNRESET, the server drops
 *   the client, and whatever the proxy was still holding back is discarded
 *   (a request already forwarded may have run; its reply is lost);
 * - `tap(fn)`: sees every chunk as it arrives, before its delay, e.g. to
 *   reset right after a given request went out.
 *
 * New connections are accepted and forwarded at all times. A graceful close
 * (FIN) is forwarded after the chunks before it.
 *
 * @example
 * const proxy = await startFaultProxy({ port: 6379 });
 * proxy.setLatency(500); // +500 ms each way: a round trip takes 1 s more
 * proxy.resetAll();
 * await proxy.close();
 */
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

/** Which way bytes flow: client -> server (`up`) or server -> client (`down`). */
export type Direction = 'up' | 'down';

export interface FaultProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  /** Sets the added delay (ms) of every chunk in `direction`, or in both directions when omitted. */
  setLatency(ms: number, direction?: Direction): void;
  latency(direction: Direction): number;
  /** Resets (RST) every open connection on both sides. Returns how many connections were reset. */
  resetAll(): number;
  /** Calls `fn` with every chunk as it arrives (before its delay) until the returned function is called. */
  tap(fn: (direction: Direction, chunk: Buffer) => void): () => void;
  /** Connections open now. */
  readonly open: number;
  /** Totals since start: connections accepted and reset, bytes forwarded per direction. */
  readonly stats: Readonly<FaultProxyStats>;
  /** Stops accepting, destroys every connection and closes the listener. */
  close(): Promise<void>;
}

export interface FaultProxyStats {
  accepted: number;
  reset: number;
  bytesUp: number;
  bytesDown: number;
}

/** Starts a proxy on a free 127.0.0.1 port forwarding to `target` (host default 127.0.0.1). */
export async function startFaultProxy(target: { host?: string; port: number }): Promise<FaultProxy> {
  if (!Number.isInteger(target.port) || target.port <= 0 || target.port > 65_535) {
    throw new Error(`startFaultProxy: target.port: expected an integer in 1..65535, got ${String(target.port)}`);
  }
  const host = target.host ?? '127.0.0.1';
  const delay: Record<Direction, number> = { up: 0, down: 0 };
  const stats: FaultProxyStats = { accepted: 0, reset: 0, bytesUp: 0, bytesDown: 0 };
  const taps = new Set<(direction: Direction, chunk: Buffer) => void>();
  const connections = new Set<Connection>();
  const tapped = (direction: Direction) => (chunk: Buffer) => {
    for (const fn of taps) fn(direction, chunk);
  };

  const server = createServer({ allowHalfOpen: true }, (client) => {
    stats.accepted++;
    const upstream = connect({ port: target.port, host, allowHalfOpen: true });
    const conn: Connection = {
      client,
      upstream,
      pipes: [
        new DelayedPipe(
          client,
          upstream,
          () => delay.up,
          tapped('up'),
          (n) => {
            stats.bytesUp += n;
          },
        ),
        new DelayedPipe(
          upstream,
          client,
          () => delay.down,
          tapped('down'),
          (n) => {
            stats.bytesDown += n;
          },
        ),
      ],
    };
    connections.add(conn);
    // An error on either side ends both at once; a graceful close ends when both sides have closed.
    const teardown = () => drop(conn, (socket) => socket.destroy());
    for (const socket of [client, upstream]) {
      socket.setNoDelay(true);
      socket.on('error', teardown);
      socket.on('close', () => {
        if (client.destroyed && upstream.destroyed) connections.delete(conn);
      });
    }
  });
  const drop = (conn: Connection, end: (socket: Socket) => void): boolean => {
    if (!connections.delete(conn)) return false;
    for (const pipe of conn.pipes) pipe.discard();
    end(conn.client);
    end(conn.upstream);
    return true;
  };
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('startFaultProxy: no TCP port from the OS');

  return {
    port: address.port,
    setLatency(ms, direction) {
      if (!Number.isFinite(ms) || ms < 0) {
        throw new Error(`FaultProxy.setLatency: expected a finite number of ms >= 0, got ${String(ms)}`);
      }
      if (direction === undefined || direction === 'up') delay.up = ms;
      if (direction === undefined || direction === 'down') delay.down = ms;
    },
    latency: (direction) => delay[direction],
    resetAll() {
      let n = 0;
      for (const conn of [...connections]) if (drop(conn, reset)) n++;
      stats.reset += n;
      return n;
    },
    tap(fn) {
      taps.add(fn);
      return () => {
        taps.delete(fn);
      };
    },
    get open() {
      return connections.size;
    },
    stats,
    async close() {
      for (const conn of [...connections]) drop(conn, (socket) => socket.destroy());
      const closed = once(server, 'close');
      server.close();
      await closed;
    },
  };
}

interface Connection {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly pipes: readonly [DelayedPipe, DelayedPipe];
}

/** RST where the socket supports it (a connected TCP socket), else a plain destroy. */
function reset(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

const END = Symbol('end');
type Piece = Buffer | typeof END;

/**
 * Forwards `from`'s bytes to `to`, each chunk held back by the delay current
 * when it arrived, in arrival order (a FIFO with one timer, for its head).
 * The end of `from` (FIN) is forwarded after the last chunk before it.
 */
class DelayedPipe {
  readonly #from: Socket;
  readonly #to: Socket;
  readonly #delayMs: () => number;
  readonly #count: (bytes: number) => void;
  readonly #queue: Array<{ piece: Piece; dueAt: number }> = [];
  #timer: NodeJS.Timeout | undefined;
  #lastDueAt = 0;
  #discarded = false;

  constructor(
    from: Socket,
    to: Socket,
    delayMs: () => number,
    onChunk: (chunk: Buffer) => void,
    count: (bytes: number) => void,
  ) {
    this.#from = from;
    this.#to = to;
    this.#delayMs = delayMs;
    this.#count = count;
    from.on('data', (chunk: Buffer) => {
      onChunk(chunk);
      this.#push(chunk);
    });
    from.on('end', () => this.#push(END));
    // Backpressure: stop reading while the other side's buffer is full.
    to.on('drain', () => from.resume());
  }

  /** Drops whatever is held back; nothing more is forwarded. */
  discard(): void {
    this.#discarded = true;
    this.#queue.length = 0;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #push(piece: Piece): void {
    if (this.#discarded) return;
    const ms = this.#delayMs();
    if (ms <= 0 && this.#queue.length === 0) {
      this.#write(piece);
      return;
    }
    const dueAt = Math.max(performance.now() + ms, this.#lastDueAt);
    this.#lastDueAt = dueAt;
    this.#queue.push({ piece, dueAt });
    this.#pump();
  }

  #pump(): void {
    if (this.#timer !== undefined) return;
    for (;;) {
      if (this.#discarded) return;
      const head = this.#queue[0];
      if (head === undefined) return;
      const wait = head.dueAt - performance.now();
      if (wait > 0) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#pump();
        }, wait);
        return;
      }
      this.#queue.shift();
      this.#write(head.piece);
    }
  }

  #write(piece: Piece): void {
    if (this.#to.destroyed) return;
    if (piece === END) {
      this.#to.end();
      return;
    }
    this.#count(piece.length);
    if (!this.#to.write(piece)) this.#from.pause();
  }
}
