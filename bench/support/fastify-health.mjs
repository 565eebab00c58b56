/**
 * The bare baseline for bench/http-footprint.ts: fastify serving `/health`
 * and `/metrics` (prom-client's default process metrics), nothing else.
 *
 *   node bench/support/fastify-health.mjs
 *
 * Plain JavaScript on plain node, as autoloop's side runs its compiled dist/:
 * no loader in either process's figures.
 *
 * Listens on 127.0.0.1 on a free port and prints, on stderr, a line in the
 * shape `autoloop start` prints: `fastify: health http://127.0.0.1:PORT/health, metrics ...`.
 * SIGTERM closes the server and exits 0.
 */
import Fastify from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';

const registry = new Registry();
collectDefaultMetrics({ register: registry });

const app = Fastify({ logger: false });
app.get('/health', async () => ({ status: 'healthy' }));
app.get('/metrics', async (_request, reply) => {
  reply.header('content-type', registry.contentType);
  return registry.metrics();
});

const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.stderr.write(`fastify: health ${address}/health, metrics ${address}/metrics\n`);
process.once('SIGTERM', () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
