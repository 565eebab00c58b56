import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';

/** A Redis server for tests: its URL, and how to stop it (a no-op for REDIS_URL). */
export interface TestRedis {
  readonly url: string;
  stop(): Promise<void>;
}

/** A redis-server this test owns: it can be killed and started again on the same port. */
export interface OwnedRedis extends TestRedis {
  readonly port: number;
  /** SIGKILL: the server vanishes mid-command, as in a crash. Its data is gone (no persistence). */
  kill(): Promise<void>;
  /** Starts a fresh server (empty, new run_id) on the same port; resolves once it answers PING. */
  restart(): Promise<void>;
  /**
   * SIGSTOP: the server stops answering but keeps its connections open (a
   * stalled or frozen Redis; the kernel even accepts new connections).
   */
  pause(): void;
  /** SIGCONT after {@link pause}: the server answers again, with its data. */
  resume(): void;
}

/**
 * Uses `process.env.REDIS_URL` when set; otherwise starts its own
 * `redis-server` (no persistence) on a free loopback port and waits until it
 * answers PING. redis-server takes no `--port 0`, so the port comes from
 * binding a throwaway listener to port 0 first.
 *
 * @example
 * const redis = await startRedis();
 * after(() => redis.stop());
 */
export async function startRedis(): Promise<TestRedis> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv) return { url: fromEnv, stop: async () => {} };
  return startOwnRedis();
}

/**
 * Always starts its own redis-server (ignoring REDIS_URL), for tests that
 * kill and restart it. `extraArgs` go on its command line (e.g.
 * `['--maxmemory-policy', 'allkeys-lru']`).
 */
export async function startOwnRedis(extraArgs: readonly string[] = []): Promise<OwnedRedis> {
  const port = await freePort();
  let child = await spawnRedis(port, extraArgs);
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    stop: () => stopChild(child),
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
    restart: async () => {
      await stopChild(child);
      child = await spawnRedis(port, extraArgs);
    },
    pause: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGSTOP');
    },
    resume: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGCONT');
    },
  };
}

async function spawnRedis(port: number, extraArgs: readonly string[]): Promise<ChildProcess> {
  const child = spawn(
    process.env.REDIS_SERVER ?? 'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    await waitForPing(port, child, 10_000);
  } catch (error) {
    await stopChild(child);
    throw new Error(`redis-server on port ${port} did not start: ${(error as Error).message} ${stderr}`.trim());
  }
  return child;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no TCP port from the OS');
  return address.port;
}

async function waitForPing(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    if (await ping(port)) return;
    if (Date.now() > deadline) throw new Error(`no PONG within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** One RESP `PING` over a fresh socket: true on `+PONG`. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  // A paused server would hold SIGTERM until continued.
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  await exited;
}
