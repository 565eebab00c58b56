import { Redis } from 'ioredis';

/** CPU time spent over an interval: this process (user + system) and the redis-server (INFO cpu), in µs. */
export interface CpuSpent {
  readonly clientUs: number;
  readonly serverUs: number;
}

/**
 * Measures CPU time rather than wall time, which a busy machine stretches:
 * `start()` reads both counters, the function it returns reads them again
 * and gives the difference. The server's figure counts every client of it,
 * so it means "this run's" only on a server the bench has to itself.
 *
 * @example
 * const meter = await CpuMeter.open(url);
 * const stop = await meter.start();
 * await work();
 * const { clientUs, serverUs } = await stop();
 * meter.close();
 */
export class CpuMeter {
  readonly #redis: Redis;

  private constructor(redis: Redis) {
    this.#redis = redis;
  }

  static async open(url: string): Promise<CpuMeter> {
    // Failures reject the INFO calls; without a listener ioredis would also print each one.
    const redis = new Redis(url).on('error', () => {});
    await redis.ping();
    return new CpuMeter(redis);
  }

  async start(): Promise<() => Promise<CpuSpent>> {
    const server = await this.#serverUs();
    const client = process.cpuUsage();
    return async () => {
      const spent = process.cpuUsage(client);
      return { clientUs: spent.user + spent.system, serverUs: (await this.#serverUs()) - server };
    };
  }

  close(): void {
    this.#redis.disconnect();
  }

  async #serverUs(): Promise<number> {
    const info = await this.#redis.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
    return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
  }
}
